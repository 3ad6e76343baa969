"""Attaching credentials to blocks: only with the `user` role, and only for ids new to the block."""

import pytest

from apps.core.errors import InvalidInput
from apps.credentials.services import credential_create, credential_grant
from apps.runbooks.models import Block, Runbook
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.blocks import block_create, block_update
from apps.runbooks.services.runbooks import runbook_create, runbook_update

REFUSED = "it does not exist or you do not have the user role on it."


def command(credential_ids, script="echo hi"):
    return {"script": script, "credentials": credential_ids}


def test_block_create_refuses_a_credential_the_editor_cannot_use(credential, cast):
    runbook = cast.runbook
    with pytest.raises(InvalidInput) as raised:
        block_create(runbook=runbook, user=cast.editor, revision=runbook.revision, kind="command",
                     key="deploy", config=command([credential.pk]))  # fmt: skip
    assert REFUSED in raised.value.errors["credentials"][0]
    assert not runbook.blocks.filter(key="deploy").exists()


def test_block_create_accepts_it_with_the_user_role(credential, cast):
    credential_grant(credential=credential, actor=cast.owner, principal=cast.editor, role="user")
    runbook = cast.runbook
    block = block_create(runbook=runbook, user=cast.editor, revision=runbook.revision, kind="api_call",
                         key="call", config={"url": "https://example.com", "credential": credential.pk})  # fmt: skip
    assert block.config["credential"] == credential.pk


def test_an_api_call_refusal_is_on_the_credential_field(credential, cast):
    runbook = cast.runbook
    with pytest.raises(InvalidInput) as raised:
        block_create(runbook=runbook, user=cast.editor, revision=runbook.revision, kind="api_call",
                     key="call", config={"url": "https://example.com", "credential": credential.pk})  # fmt: skip
    assert list(raised.value.errors) == ["credential"]


def test_an_editor_cannot_change_the_config_of_a_block_someone_else_equipped(credential, cast):
    """Keeping the credential and changing the script would hand the secret to the editor (issue 12)."""
    runbook = cast.runbook
    block = block_create(runbook=runbook, user=cast.owner, revision=runbook.revision, kind="command",
                         key="deploy", config=command([credential.pk]))  # fmt: skip
    runbook.refresh_from_db()
    with pytest.raises(InvalidInput) as raised:
        block_update(block=block, user=cast.editor, revision=runbook.revision, key="deploy", title="Deploy",
                     config=command([credential.pk], script="echo changed"))  # fmt: skip
    assert "takes the user role on it" in raised.value.errors["credentials"][0]
    assert Block.objects.get(pk=block.pk).config["script"] == "echo hi"


def test_an_editor_can_retitle_a_block_someone_else_equipped(credential, cast):
    runbook = cast.runbook
    block = block_create(runbook=runbook, user=cast.owner, revision=runbook.revision, kind="command",
                         key="deploy", config=command([credential.pk]))  # fmt: skip
    runbook.refresh_from_db()
    block_update(block=block, user=cast.editor, revision=runbook.revision, key="deploy", title="Deploy",
                 config=command([credential.pk]))  # fmt: skip
    assert Block.objects.get(pk=block.pk).title == "Deploy"


def test_an_editor_cannot_add_a_second_credential_to_that_block(credential, cast):
    other = credential_create(user=cast.owner, name="other-cred", kind="secret", secret="other-secret-1")
    runbook = cast.runbook
    block = block_create(runbook=runbook, user=cast.owner, revision=runbook.revision, kind="command",
                         key="deploy", config=command([credential.pk]))  # fmt: skip
    runbook.refresh_from_db()
    with pytest.raises(InvalidInput) as raised:
        block_update(block=block, user=cast.editor, revision=runbook.revision, key="deploy", title="",
                     config=command([credential.pk, other.pk]))  # fmt: skip
    assert raised.value.errors["credentials"][0] == f"You cannot attach credential #{other.pk}: {REFUSED}"
    assert Block.objects.get(pk=block.pk).config["credentials"] == [credential.pk]


def test_runbook_create_refuses_unusable_credentials_with_the_block_position(credential, cast):
    with pytest.raises(InvalidInput) as raised:
        runbook_create(user=cast.editor, title="Mine", blocks=[
            {"key": "intro", "kind": "instruction", "config": {"markdown": "hi"}},
            {"key": "run", "kind": "command", "config": command([credential.pk])},
        ])  # fmt: skip
    errors = raised.value.errors["blocks"]
    assert errors[0] == {}
    assert REFUSED in errors[1]["config"]["credentials"][0]

    assert not Runbook.objects.filter(title="Mine").exists()


def test_runbook_update_checks_only_blocks_whose_kind_or_config_change(credential, cast):
    runbook = runbook_create(user=cast.owner, title="Equipped", blocks=[
        {"key": "run", "kind": "command", "config": command([credential.pk])},
    ])  # fmt: skip
    runbook_grant(runbook=runbook, actor=cast.owner, principal=cast.editor, role="editor")
    updated = runbook_update(runbook=runbook, user=cast.editor, revision=runbook.revision, blocks=[
        {"key": "run", "title": "Unchanged config, new title", "kind": "command", "config": command([credential.pk])},
        {"key": "other", "kind": "command", "config": command([], script="echo v2")},
    ])  # fmt: skip
    with pytest.raises(InvalidInput):
        runbook_update(runbook=runbook, user=cast.editor, revision=updated.revision, blocks=[
            {"key": "run", "kind": "command", "config": command([credential.pk])},
            {"key": "copy", "kind": "command", "config": command([credential.pk])},
        ])  # fmt: skip
    assert list(runbook.blocks.values_list("key", flat=True)) == ["run", "other"]
