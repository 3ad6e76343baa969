"""Admin saves of runbooks and blocks are held to the same validation as the pages and the API, and the
object permission pages grant whole roles."""

import json

from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.runbooks.models import Block, Runbook
from apps.runbooks.roles import ROLE_CODENAMES
from apps.runbooks.selectors import runbook_role_of
from apps.runbooks.services.runbooks import runbook_update
from tests.support.admin import runbook_post_data, url, with_block


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
