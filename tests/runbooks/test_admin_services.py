"""Admin saves go through the runbooks services: one revision and one audit event per save, and the
credential rule holds for staff exactly as for editors on the pages and the API."""

import json

import pytest
from django.contrib.auth.models import Permission

from apps.audit.models import AuditEvent
from apps.credentials.services import credential_create
from apps.environments.models import ExecutionEnvironment
from apps.runbooks.models import Block, Runbook
from tests.support.admin import runbook_post_data, url, with_block


@pytest.fixture
def staff(cast):
    """is_staff with the admin's model permissions on runbooks and blocks, and no object role."""
    for codename in ("view_runbook", "change_runbook", "view_block", "change_block"):
        cast.staff.user_permissions.add(Permission.objects.get(content_type__app_label="runbooks", codename=codename))
    return cast.staff


@pytest.fixture
def foreign_credential(cast):
    """A credential the staff member holds no role on."""
    return credential_create(user=cast.owner, name="prod-db", kind="token", secret="prod-db-secret-value")


def _events() -> list[int]:
    return list(AuditEvent.objects.order_by("seq").values_list("pk", flat=True))


def test_a_runbook_admin_edit_is_audited_once_and_bumps_the_revision_once(cast, client_for):
    runbook, client = cast.runbook, client_for(cast.admin)  # signing in is audited too: before counting
    before, events = runbook.revision, _events()
    blocks = with_block(runbook, "restart", config={"script": "echo again"})
    response = client.post(
        url(Runbook, "change", runbook.pk), runbook_post_data(runbook, title="Restart payments", blocks=blocks)
    )
    assert response.status_code == 302, response.text
    runbook.refresh_from_db()
    assert (runbook.title, runbook.revision) == ("Restart payments", before + 1)
    new = AuditEvent.objects.exclude(pk__in=events)
    assert new.count() == 1
    event = new.get()
    assert (event.action, event.actor, event.detail["via"]) == ("runbook.edit", cast.admin, "admin")
    assert event.detail["revision"] == before + 1
    assert set(event.detail["fields"]) == {"title", "blocks"}
    assert runbook.history.first().history_user == cast.admin


def test_a_block_admin_edit_is_audited_once_and_bumps_the_revision_once(cast, client_for):
    block, client = Block.objects.get(runbook=cast.runbook, key="restart"), client_for(cast.admin)
    before, events = cast.runbook.revision, _events()
    data = {"key": "restart", "title": "Restart", "config": json.dumps({"script": "echo hi"})}
    response = client.post(url(Block, "change", block.pk), data)
    assert response.status_code == 302, response.text
    cast.runbook.refresh_from_db()
    assert cast.runbook.revision == before + 1
    event = AuditEvent.objects.exclude(pk__in=events).get()
    assert (event.action, event.detail["block_changed"], event.detail["via"]) == ("runbook.edit", "restart", "admin")


def test_an_unchanged_admin_save_bumps_nothing_and_records_nothing(cast, client_for):
    client = client_for(cast.admin)
    before, events = cast.runbook.revision, _events()
    response = client.post(url(Runbook, "change", cast.runbook.pk), runbook_post_data(cast.runbook))
    assert response.status_code == 302, response.text
    cast.runbook.refresh_from_db()
    assert cast.runbook.revision == before
    assert _events() == events


def test_staff_cannot_add_a_credential_they_hold_no_user_role_on_in_the_runbook_admin(
    cast, client_for, staff, foreign_credential
):
    runbook, client = cast.runbook, client_for(staff)
    before, events = runbook.revision, _events()
    blocks = with_block(runbook, "restart", config={"script": "echo x", "credentials": [foreign_credential.pk]})
    response = client.post(url(Runbook, "change", runbook.pk), runbook_post_data(runbook, blocks=blocks))
    assert response.status_code == 200
    assert f"You cannot attach credential #{foreign_credential.pk}" in response.text
    assert Block.objects.get(runbook=runbook, key="restart").config["credentials"] == []
    runbook.refresh_from_db()
    assert runbook.revision == before
    assert _events() == events


def test_staff_cannot_add_a_credential_they_hold_no_user_role_on_in_the_block_admin(
    cast, client_for, staff, foreign_credential
):
    block, client = Block.objects.get(runbook=cast.runbook, key="restart"), client_for(staff)
    events = _events()
    config = {"script": "echo x", "credentials": [foreign_credential.pk]}
    response = client.post(
        url(Block, "change", block.pk), {"key": "restart", "title": "", "config": json.dumps(config)}
    )
    assert response.status_code == 200
    assert f"You cannot attach credential #{foreign_credential.pk}" in response.text
    block.refresh_from_db()
    assert block.config["credentials"] == []
    assert _events() == events


def test_a_refusal_only_the_service_makes_saves_nothing_and_says_why(cast, client_for):
    # The forms do not know the environment rule; the service refuses a failed build when the runbook moves onto it.
    broken = ExecutionEnvironment.objects.create(name="broken", image="", dockerfile="FROM x", build_status="failed")
    runbook, client = cast.runbook, client_for(cast.admin)
    before, events = runbook.revision, _events()
    response = client.post(url(Runbook, "change", runbook.pk), runbook_post_data(runbook, environment=broken.pk))
    assert response.status_code == 302
    page = client.get(response.url)
    assert "Nothing was saved" in page.text and "its Dockerfile build failed" in page.text
    runbook.refresh_from_db()
    assert (runbook.revision, runbook.environment_id) == (before, None)
    assert _events() == events
