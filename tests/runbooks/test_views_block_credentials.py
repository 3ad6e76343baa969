"""Blocks pick credentials by name from those the author may attach, and show their names."""

import pytest

from apps.credentials.services import credential_create, credential_grant
from apps.runbooks.models import Block
from apps.runbooks.services.blocks import block_update


@pytest.fixture
def credentials(cast):
    shared = credential_create(user=cast.owner, name="deploy-token", kind="token", secret="deploy-secret-123")
    credential_grant(credential=shared, actor=cast.owner, principal=cast.editor, role="user")
    private = credential_create(user=cast.owner, name="owner-only", kind="secret", secret="owner-secret-123")
    return shared, private


def test_the_command_form_lists_only_credentials_the_editor_may_attach(cast, client_for, credentials):
    shared, _ = credentials
    page = client_for(cast.editor).get(f"/runbooks/{cast.runbook.pk}/blocks/new?kind=command").content.decode()
    assert f'<option value="{shared.pk}">deploy-token (token)</option>' in page
    assert "owner-only" not in page
    assert "deploy-secret-123" not in page


def test_a_selected_credential_is_saved_by_id_and_shown_by_name(cast, client_for, credentials):
    shared, _ = credentials
    client = client_for(cast.editor)
    response = client.post(
        f"/runbooks/{cast.runbook.pk}/blocks/",
        {
            "kind": "command",
            "revision": cast.runbook.revision,
            "new-0000abcd-key": "deploy",
            "new-0000abcd-title": "",
            "new-0000abcd-script": "cat $RB_SECRET_DEPLOY_TOKEN_FILE",
            "new-0000abcd-shell": "sh",
            "new-0000abcd-timeout_seconds": "60",
            "new-0000abcd-credentials": [str(shared.pk)],
            "prefix": "new-0000abcd",
        },
    )
    assert response.status_code in (200, 302), response.content[:400]
    block = Block.objects.get(runbook=cast.runbook, key="deploy")
    assert block.config["credentials"] == [shared.pk]
    detail = client.get(f"/runbooks/{cast.runbook.pk}/").content.decode()
    assert "credentials deploy-token" in detail


def test_editing_keeps_a_credential_someone_else_attached(cast, client_for, credentials):
    _, private = credentials

    block = cast.runbook.blocks.get(key="restart")
    block_update(block=block, user=cast.owner, revision=cast.runbook.revision, key="restart", title="",
                 config={"script": "echo", "credentials": [private.pk]})  # fmt: skip
    page = client_for(cast.editor).get(f"/runbooks/{cast.runbook.pk}/blocks/{block.pk}/edit").content.decode()
    assert f'<option value="{private.pk}" selected>owner-only (secret)</option>' in page
