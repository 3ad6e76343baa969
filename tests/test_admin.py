"""The operators' admin: every model browsable, read-only models really read-only, and admin saves
held to the same validation as the pages and the API."""

import json

import pytest
from django.contrib import admin
from django.urls import reverse

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_authenticate, api_token_create
from apps.audit.models import AuditChainHead, AuditEvent
from apps.automation.models import Delivery, Proposal, Schedule, ScheduleFire, Trigger, TriggerFire
from apps.credentials.models import Credential, CredentialGroupObjectPermission, CredentialUserObjectPermission
from apps.environments.models import ExecutionEnvironment
from apps.executions.models import Execution, OutputChunk, StepRun
from apps.runbooks.models import (
    Block,
    CredentialRevocation,
    Runbook,
    RunbookGroupObjectPermission,
    RunbookUserObjectPermission,
    RunbookVersion,
)
from apps.runbooks.roles import ROLE_CODENAMES
from apps.runbooks.selectors import runbook_role_of
from apps.runbooks.versions import snapshot_hash, snapshot_of

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)
# django-rq registers an unmanaged placeholder model whose "changelist" is its Redis dashboard.
TABLES = [model for model in REGISTERED if model._meta.managed]
READ_ONLY = [
    RunbookVersion,
    AuditEvent,
    AuditChainHead,
    RunbookUserObjectPermission,
    RunbookGroupObjectPermission,
    CredentialUserObjectPermission,
    CredentialGroupObjectPermission,
    Execution,
    StepRun,
    OutputChunk,
    CredentialRevocation,
    # Automation changes through its pages and API only, where the editor rule and the audit apply.
    Trigger,
    TriggerFire,
    Delivery,
    Proposal,
    Schedule,
    ScheduleFire,
]
OURS = [Runbook, Block, ApiToken, ExecutionEnvironment, Credential, *READ_ONLY]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def rows(cast):
    """At least one row of every model this project registers."""
    # Written directly, not through runbook_publish: this fixture only needs a row to display.
    snapshot = snapshot_of(cast.runbook)
    RunbookVersion.objects.create(
        runbook=cast.runbook,
        number=1,
        message="First version",
        author=cast.owner,
        snapshot=snapshot,
        content_hash=snapshot_hash(snapshot),
    )
    execution = Execution.objects.create(
        runbook=cast.runbook, snapshot=snapshot, triggered_by=cast.runner, status="failed"
    )
    step_run = StepRun.objects.create(execution=execution, position=0, block_key="restart", kind="command")
    OutputChunk.objects.create(step_run=step_run, seq=0, data="restarting\n")
    api_token_create(user=cast.viewer, name="laptop")
    from apps.credentials.services import credential_create, credential_grant

    credential = credential_create(user=cast.owner, name="deploy-token", kind="token", secret="admin-test-secret")
    credential_grant(credential=credential, actor=cast.owner, principal=cast.team, role="user")
    CredentialRevocation.objects.create(runbook=cast.runbook, credential=credential, revoked_by=cast.owner)
    ExecutionEnvironment.objects.create(name="alpine", image="alpine:3.20")
    from apps.automation.schedules import schedule_create
    from apps.automation.services import trigger_create

    trigger, _ = trigger_create(runbook=cast.runbook, user=cast.editor, data={"name": "page", "kind": "generic"})
    TriggerFire.objects.create(trigger=trigger, dedup_key="alert-1", at=execution.created_at, execution=execution)
    Delivery.objects.create(trigger=trigger, outcome="accepted", status_code=202, source="127.0.0.1")
    Proposal.objects.create(trigger=trigger, runbook=cast.runbook, params={})
    schedule = schedule_create(runbook=cast.runbook, user=cast.editor, data={"cron": "0 3 * * *"})
    ScheduleFire.objects.create(schedule=schedule, fire_at=execution.created_at, outcome="started", execution=execution)
    RunbookGroupObjectPermission.objects.create(
        content_object=cast.runbook,
        group=cast.team,
        permission=RunbookUserObjectPermission.objects.first().permission,
    )
    return cast


@pytest.fixture
def operator(client_for, cast):
    return client_for(cast.admin)


def runbook_post_data(runbook: Runbook, **changes) -> dict:
    """What the runbook change form posts, blocks as the inline formset, with `changes` applied."""
    blocks = changes.pop("blocks", None)
    if blocks is None:
        blocks = [
            {"id": block.pk, "key": block.key, "title": block.title, "kind": block.kind, "config": block.config}
            for block in runbook.blocks.all()
        ]
    data = {
        "title": runbook.title,
        "description": runbook.description,
        "tags": ", ".join(sorted(runbook.tags.names())),
        "environment": runbook.environment_id or "",
        "parameters": json.dumps(runbook.parameters),
        "owner": runbook.owner_id,
        "opened_revision": runbook.revision,
        "blocks-TOTAL_FORMS": len(blocks),
        "blocks-INITIAL_FORMS": sum(1 for block in blocks if block.get("id")),
        "blocks-MIN_NUM_FORMS": 0,
        "blocks-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for index, block in enumerate(blocks):
        prefix = f"blocks-{index}-"
        data |= {
            f"{prefix}id": block.get("id", ""),
            f"{prefix}runbook": runbook.pk,
            f"{prefix}position": block.get("position", index),
            f"{prefix}key": block["key"],
            f"{prefix}title": block.get("title", ""),
            f"{prefix}kind": block["kind"],
            f"{prefix}config": json.dumps(block["config"]),
        }
        if block.get("DELETE"):
            data[f"{prefix}DELETE"] = "on"
    data |= changes
    return data


def with_block(runbook: Runbook, target: str, **fields) -> list[dict]:
    blocks = [
        {"id": block.pk, "key": block.key, "title": block.title, "kind": block.kind, "config": block.config}
        for block in runbook.blocks.all()
    ]
    for block in blocks:
        if block["key"] == target:
            block.update(fields)
    return blocks


# Every registered admin --------------------------------------------------------------------------


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_changelist_renders_for_the_superuser(operator, rows, model):
    response = operator.get(url(model, "changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", TABLES, ids=lambda model: model._meta.label)
def test_every_changelist_search_works(operator, rows, model):
    response = operator.get(url(model, "changelist"), {"q": "payments"})
    assert response.status_code == 200


@pytest.mark.parametrize("model", TABLES, ids=lambda model: model._meta.label)
def test_every_change_page_renders_for_the_superuser(operator, rows, model):
    instance = model._default_manager.first()
    if instance is None:
        assert model not in OURS, f"the fixture made no {model._meta.label}"
        pytest.skip(f"no {model._meta.label} row to open (another team's model)")
    response = operator.get(url(model, "change", instance.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("model", OURS, ids=lambda model: model._meta.label)
def test_every_model_of_the_project_is_registered(model):
    assert model in admin.site._registry


def test_the_runbook_admin_has_guardian_and_history_pages(operator, rows):
    runbook = rows.runbook
    change = operator.get(url(Runbook, "change", runbook.pk))
    assert url(Runbook, "permissions", runbook.pk) in change.text
    assert operator.get(url(Runbook, "permissions", runbook.pk)).status_code == 200
    history = operator.get(url(Runbook, "history", runbook.pk))
    assert history.status_code == 200
    assert "owner" in history.text


def test_the_runbook_change_page_inlines_its_blocks(operator, rows):
    response = operator.get(url(Runbook, "change", rows.runbook.pk))
    assert 'name="blocks-0-config"' in response.text
    assert 'name="blocks-1-config"' in response.text


def test_people_without_staff_status_cannot_open_the_admin(client_for, rows):
    response = client_for(rows.owner).get(url(Runbook, "changelist"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


# Read-only models -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda model: model._meta.label)
def test_read_only_models_refuse_add(operator, rows, model):
    assert operator.get(url(model, "add")).status_code == 403
    before = model._default_manager.count()
    assert operator.post(url(model, "add"), {}).status_code == 403
    assert model._default_manager.count() == before


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda model: model._meta.label)
def test_read_only_models_show_no_save_button(operator, rows, model):
    instance = model._default_manager.first()
    response = operator.get(url(model, "change", instance.pk))
    assert response.status_code == 200
    assert 'name="_save"' not in response.text
    assert url(model, "delete", instance.pk) not in response.text


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda model: model._meta.label)
def test_read_only_models_refuse_change_and_delete(operator, rows, model):
    instance = model._default_manager.first()
    before = {field.attname: getattr(instance, field.attname) for field in model._meta.concrete_fields}
    assert operator.post(url(model, "change", instance.pk), {"message": "tampered"}).status_code == 403
    assert operator.post(url(model, "delete", instance.pk), {"post": "yes"}).status_code == 403
    instance.refresh_from_db()
    assert {field.attname: getattr(instance, field.attname) for field in model._meta.concrete_fields} == before


def test_read_only_models_offer_no_bulk_delete(operator, rows):
    event = AuditEvent.objects.first()
    response = operator.post(
        url(AuditEvent, "changelist"), {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert response.status_code in (200, 302)


# API tokens -------------------------------------------------------------------------------------


def test_the_token_admin_never_shows_the_hash(operator, rows):
    token = ApiToken.objects.get(user=rows.viewer)
    for page in (url(ApiToken, "changelist"), url(ApiToken, "change", token.pk)):
        response = operator.get(page)
        assert response.status_code == 200
        assert token.token_hash not in response.text
        assert "token_hash" not in response.text
    assert token.prefix in operator.get(url(ApiToken, "changelist")).text


def test_the_token_admin_cannot_search_by_hash(operator, rows):
    token = ApiToken.objects.get(user=rows.viewer)
    response = operator.get(url(ApiToken, "changelist"), {"q": token.token_hash})
    assert "0 api tokens" in response.text or "0 results" in response.text


def test_the_token_admin_has_no_add(operator, rows):
    assert operator.get(url(ApiToken, "add")).status_code == 403
    assert url(ApiToken, "add") not in operator.get(url(ApiToken, "changelist")).text


def test_the_token_admin_can_revoke(operator, rows):
    token, value = api_token_create(user=rows.runner, name="ci")
    response = operator.post(
        url(ApiToken, "changelist"), {"action": "revoke_selected", "_selected_action": [token.pk]}, follow=True
    )
    assert "Revoked 1 token(s)." in response.text
    assert api_token_authenticate(value=value) is None
    assert AuditEvent.objects.filter(action="token.revoke", object_id=str(token.pk), actor=rows.admin).exists()


def test_the_token_admin_refuses_edits(operator, rows):
    token = ApiToken.objects.get(user=rows.viewer)
    response = operator.post(url(ApiToken, "change", token.pk), {"name": "renamed", "user": rows.admin.pk})
    assert response.status_code == 403
    token.refresh_from_db()
    assert (token.name, token.user) == ("laptop", rows.viewer)


# Runbook saves ----------------------------------------------------------------------------------


def test_a_bad_block_config_is_refused_in_the_runbook_admin(operator, rows):
    runbook = rows.runbook
    data = runbook_post_data(runbook, blocks=with_block(runbook, "restart", config={"script": "   "}))
    response = operator.post(url(Runbook, "change", runbook.pk), data)
    assert response.status_code == 200
    assert "The script is empty." in response.text
    assert Block.objects.get(runbook=runbook, key="restart").config["script"] == "echo restarting"
    runbook.refresh_from_db()
    assert runbook.revision == rows.runbook.revision


def test_an_unknown_config_field_is_refused_in_the_runbook_admin(operator, rows):
    runbook = rows.runbook
    config = {"script": "echo ok", "run_as_root": True}
    response = operator.post(
        url(Runbook, "change", runbook.pk),
        runbook_post_data(runbook, blocks=with_block(runbook, "restart", config=config)),
    )
    assert response.status_code == 200
    assert "Unknown field for a command block." in response.text
    assert "run_as_root" not in Block.objects.get(runbook=runbook, key="restart").config


def test_a_bad_block_key_is_refused_in_the_runbook_admin(operator, rows):
    runbook = rows.runbook
    response = operator.post(
        url(Runbook, "change", runbook.pk),
        runbook_post_data(runbook, blocks=with_block(runbook, "restart", key="re start")),
    )
    assert response.status_code == 200
    assert "is not a valid key" in response.text or "Enter a valid “slug”" in response.text
    assert runbook.blocks.filter(key="restart").exists()


def test_a_backward_goto_is_refused_in_the_runbook_admin(operator, rows):
    runbook = rows.runbook
    blocks = with_block(runbook, "restart")
    blocks.append({"key": "check", "kind": "conditional", "config": {"expression": "true", "on_true": "goto:intro"}})
    response = operator.post(url(Runbook, "change", runbook.pk), runbook_post_data(runbook, blocks=blocks))
    assert response.status_code == 200
    assert "goto may only jump forward" in response.text
    assert not runbook.blocks.filter(key="check").exists()


def test_a_bad_title_and_parameters_are_refused_in_the_runbook_admin(operator, rows):
    runbook = rows.runbook
    data = runbook_post_data(runbook, title="   ", parameters=json.dumps([{"name": "1bad"}]))
    response = operator.post(url(Runbook, "change", runbook.pk), data)
    assert response.status_code == 200
    assert "This field is required." in response.text
    assert "Use letters, digits and _" in response.text
    runbook.refresh_from_db()
    assert runbook.title == "Restart the payments API"


def test_a_stale_revision_is_refused_in_the_runbook_admin(operator, rows):
    runbook = rows.runbook
    data = runbook_post_data(runbook, title="Mine")
    from apps.runbooks.services.runbooks import runbook_update

    runbook_update(runbook=runbook, user=rows.editor, revision=runbook.revision, title="Theirs")
    response = operator.post(url(Runbook, "change", runbook.pk), data)
    assert response.status_code == 200
    assert "This runbook was changed since you opened it" in response.text
    runbook.refresh_from_db()
    assert runbook.title == "Theirs"


def test_a_good_admin_save_normalises_bumps_the_revision_and_is_recorded(operator, rows):
    runbook = rows.runbook
    before = runbook.revision
    data = runbook_post_data(runbook, blocks=with_block(runbook, "restart", config={"script": "echo again"}))
    response = operator.post(url(Runbook, "change", runbook.pk), data)
    assert response.status_code == 302, response.text
    block = Block.objects.get(runbook=runbook, key="restart")
    # Omitted fields take their documented defaults, exactly as through the API.
    assert block.config == {
        "script": "echo again",
        "shell": "sh",
        "timeout_seconds": 300,
        "credentials": [],
        "continue_on_error": False,
    }
    assert block.history.first().history_user == rows.admin
    runbook.refresh_from_db()
    assert runbook.revision == before + 1
    assert runbook.last_modified_by == rows.admin
    event = AuditEvent.objects.filter(action="runbook.edit", object_id=str(runbook.pk)).first()
    assert event.actor == rows.admin
    assert event.detail["via"] == "admin"
    assert "blocks" in event.detail["fields"]


def test_a_runbook_added_in_the_admin_gives_its_owner_the_owner_role(operator, rows):
    data = runbook_post_data(rows.runbook, title="Fail over the database", blocks=[], opened_revision="")
    data["owner"] = rows.editor.pk
    response = operator.post(url(Runbook, "add"), data)
    assert response.status_code == 302, response.text
    created = Runbook.objects.get(title="Fail over the database")
    assert runbook_role_of(rows.editor, created) == "owner"
    assert AuditEvent.objects.filter(action="runbook.create", object_id=str(created.pk)).exists()


def test_runbooks_are_archived_never_deleted_in_the_admin(operator, rows):
    runbook = rows.runbook
    assert operator.post(url(Runbook, "delete", runbook.pk), {"post": "yes"}).status_code == 403
    operator.post(url(Runbook, "changelist"), {"action": "archive_selected", "_selected_action": [runbook.pk]})
    runbook.refresh_from_db()
    assert runbook.archived_at is not None


def test_a_history_revert_is_refused(operator, rows):
    runbook = rows.runbook
    record = runbook.history.last()
    response = operator.post(
        reverse("admin:runbooks_runbook_simple_history", args=[runbook.pk, record.history_id]),
        runbook_post_data(runbook, title="Reverted"),
    )
    assert response.status_code == 403
    runbook.refresh_from_db()
    assert runbook.title == "Restart the payments API"


def test_a_bad_block_config_is_refused_in_the_block_admin(operator, rows):
    block = Block.objects.get(runbook=rows.runbook, key="restart")
    data = {"position": 1, "key": "restart", "title": "", "kind": "command", "config": json.dumps({"shell": "zsh"})}
    response = operator.post(url(Block, "change", block.pk), data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    block.refresh_from_db()
    assert block.config["shell"] == "sh"


def test_a_good_block_admin_save_bumps_the_runbook_revision(operator, rows):
    block = Block.objects.get(runbook=rows.runbook, key="restart")
    before = rows.runbook.revision
    data = {"position": 1, "key": "restart", "title": "Restart", "kind": "command", "config": '{"script": "echo hi"}'}
    response = operator.post(url(Block, "change", block.pk), data)
    assert response.status_code == 302, response.text
    block.refresh_from_db()
    assert block.config["script"] == "echo hi"
    rows.runbook.refresh_from_db()
    assert rows.runbook.revision == before + 1


def test_an_invalid_json_config_is_refused(operator, rows):
    runbook = rows.runbook
    data = runbook_post_data(runbook)
    data["blocks-1-config"] = "{not json"
    response = operator.post(url(Runbook, "change", runbook.pk), data)
    assert response.status_code == 200
    assert "Enter a valid JSON." in response.text


def test_a_block_admin_edit_that_jumps_backward_is_refused(operator, rows):
    from apps.runbooks.services.runbooks import runbook_update

    runbook = rows.runbook
    runbook_update(
        runbook=runbook,
        user=rows.owner,
        revision=runbook.revision,
        blocks=[
            {"key": "intro", "kind": "instruction", "config": {"markdown": "Look first."}},
            {"key": "check", "kind": "conditional", "config": {"expression": "true", "on_true": "goto:restart"}},
            {"key": "restart", "kind": "command", "config": {"script": "echo restarting"}},
        ],
    )
    block = Block.objects.get(runbook=runbook, key="check")
    config = {"expression": "true", "on_true": "goto:intro", "on_false": "stop"}
    data = {"position": 1, "key": "check", "title": "", "kind": "conditional", "config": json.dumps(config)}
    response = operator.post(url(Block, "change", block.pk), data)
    assert response.status_code == 200
    assert "goto may only jump forward" in response.text
    block.refresh_from_db()
    assert block.config["on_true"] == "goto:restart"


def test_the_runbook_change_form_carries_the_revision_it_was_opened_at(operator, rows):
    response = operator.get(url(Runbook, "change", rows.runbook.pk))
    assert f'name="opened_revision" value="{rows.runbook.revision}"' in response.text


# Object permissions (guardian's pages) ----------------------------------------------------------


def manage_user_url(runbook, user) -> str:
    return reverse("admin:runbooks_runbook_permissions_manage_user", args=[runbook.pk, user.pk])


def test_the_object_permission_pages_grant_a_whole_role_and_audit_it(operator, rows):
    page = manage_user_url(rows.runbook, rows.outsider)
    assert operator.get(page).status_code == 200
    response = operator.post(page, {"permissions": ["view_runbook", "run_runbook"]}, follow=True)
    assert "now has the role runner" in response.text
    assert runbook_role_of(rows.outsider, rows.runbook) == "runner"
    event = AuditEvent.objects.filter(action="role.grant").first()
    assert (event.actor, event.detail["principal"], event.detail["role"]) == (rows.admin, "user:outsider", "runner")


def test_the_object_permission_pages_refuse_a_set_that_is_no_role(operator, rows):
    response = operator.post(
        manage_user_url(rows.runbook, rows.outsider), {"permissions": ["run_runbook", "share_runbook"]}, follow=True
    )
    assert "Choose exactly the permissions of one role" in response.text
    assert runbook_role_of(rows.outsider, rows.runbook) is None


def test_the_object_permission_pages_keep_the_last_owner(operator, rows):
    response = operator.post(manage_user_url(rows.runbook, rows.owner), {"permissions": ["view_runbook"]}, follow=True)
    assert "A runbook must keep at least one owner." in response.text
    assert runbook_role_of(rows.owner, rows.runbook) == "owner"


def test_the_object_permission_pages_revoke_with_an_empty_set(operator, rows):
    operator.post(manage_user_url(rows.runbook, rows.viewer), {})
    assert runbook_role_of(rows.viewer, rows.runbook) is None


def test_the_group_permission_page_grants_a_role(operator, rows):
    page = reverse("admin:runbooks_runbook_permissions_manage_group", args=[rows.runbook.pk, rows.team.pk])
    assert operator.get(page).status_code == 200
    operator.post(page, {"permissions": ROLE_CODENAMES["editor"]})
    rows.outsider.groups.add(rows.team)
    assert runbook_role_of(rows.outsider, rows.runbook) == "editor"


def test_no_model_of_the_project_is_missing_from_the_admin():
    from django.apps import apps

    # simple-history's Historical* tables are browsed through each model's own history page.
    missing = [
        model._meta.label
        for model in apps.get_models()
        if model.__module__.startswith("apps.")
        and not model.__name__.startswith("Historical")
        and model not in admin.site._registry
    ]
    assert missing == []
