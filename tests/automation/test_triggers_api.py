"""Managing triggers through the API and the pages: editors only, the secret shown exactly once."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.automation.models import Trigger
from tests.support.executions import command
from tests.support.payloads import alert, alertmanager_payload, body_of

PARAMETERS = [{"name": "instance", "label": "Instance", "required": True}]


@pytest.fixture
def runbook(cast, make_runbook):
    return make_runbook(cast.owner, [command("check", "true")], parameters=PARAMETERS)


def test_creating_answers_the_secret_once_and_never_again(cast, runbook, api_for):
    api = api_for(cast.editor)
    created = api.post(
        f"/api/v1/runbooks/{runbook.pk}/triggers/",
        {"name": "latency", "kind": "alertmanager", "params": {"instance": "alert.labels.instance"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret"]
    assert len(secret) > 30 and body["url"].startswith("http://testserver/hooks/")
    assert body["created_by"] == "editor" and body["enabled"] is True and body["action"] == "run"
    shown = api.get(f"/api/v1/triggers/{body['id']}/")
    listed = api.get(f"/api/v1/runbooks/{runbook.pk}/triggers/")
    page = Client()
    page.force_login(cast.editor)
    html = page.get(reverse("automation:trigger", args=[body["id"]])).content.decode()
    for answer in (shown.content.decode(), listed.content.decode(), html):
        assert secret not in answer
    assert "secret" not in shown.json()


def test_rotating_stops_the_old_secret_at_once(cast, runbook, api_for):
    api = api_for(cast.editor)
    created = api.post(
        f"/api/v1/runbooks/{runbook.pk}/triggers/",
        {"name": "latency", "params": {"instance": "alert.labels.instance"}, "kind": "alertmanager"},
        format="json",
    ).json()
    rotated = api.post(f"/api/v1/triggers/{created['id']}/rotate/").json()["secret"]
    assert rotated != created["secret"]
    body = body_of(alertmanager_payload(alert("db-1")))
    url = created["url"].replace("http://testserver", "")
    old = Client().post(url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {created['secret']}")
    new = Client().post(url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {rotated}")
    assert (old.status_code, new.status_code) == (401, 202)
    deliveries = api.get(f"/api/v1/triggers/{created['id']}/deliveries/").json()["results"]
    assert [delivery["outcome"] for delivery in deliveries] == ["started"]
    assert deliveries[0]["executions"] == [new.json()["executions"][0]["id"]]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x", "kind": "nagios"}, "kind"),
        ({"name": "x", "params": {"nope": "a.b"}}, "params"),
        ({"name": "x", "params": {"instance": "a..b"}}, "params"),
        ({"name": "x", "params": {"instance": 3}}, "params"),
        ({"name": "x", "params": "instance"}, "params"),
        ({"name": "x", "dedup_seconds": -1}, "dedup_seconds"),
        ({"name": "x", "dedup_seconds": True}, "dedup_seconds"),
        ({"name": "x", "enabled": "yes"}, "enabled"),
        ({"name": "x", "color": "red"}, "color"),
        ({"name": "x\u0000"}, "name"),
    ],
)
def test_it_refuses_bad_fields_with_a_400_naming_them(cast, runbook, api_for, data, field):
    response = api_for(cast.editor).post(f"/api/v1/runbooks/{runbook.pk}/triggers/", data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Trigger.objects.count() == 0


def test_patch_changes_fields_and_delete_makes_the_hook_answer_401(cast, runbook, api_for):
    api = api_for(cast.editor)
    created = api.post(
        f"/api/v1/runbooks/{runbook.pk}/triggers/", {"name": "a", "params": {"instance": "=x"}}, format="json"
    ).json()
    patched = api.patch(f"/api/v1/triggers/{created['id']}/", {"enabled": False, "action": "propose"}, format="json")
    assert patched.status_code == 200 and patched.json()["enabled"] is False and patched.json()["action"] == "propose"
    assert api.delete(f"/api/v1/triggers/{created['id']}/").status_code == 204
    assert api.get(f"/api/v1/triggers/{created['id']}/").status_code == 404
    url = created["url"].replace("http://testserver", "")
    answer = Client().post(
        url, b"{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {created['secret']}"
    )
    assert answer.status_code == 401


def test_the_page_creates_a_trigger_and_shows_the_secret_with_snippets_once(cast, runbook):
    page = Client()
    page.force_login(cast.editor)
    response = page.post(
        reverse("automation:triggers", args=[runbook.pk]),
        {"name": "Latency page", "kind": "alertmanager", "action": "run", "per": "alert",
         "params": "instance=alert.labels.instance", "dedup_seconds": "300"},
    )  # fmt: skip
    assert response.status_code == 201, response.content[:2000]
    trigger = Trigger.objects.get()
    html = response.content.decode()
    secret = trigger.secret
    assert f"Authorization: Bearer {secret}" in html and f"credentials: '{secret}'" in html
    assert "webhook_configs:" in html and f"/hooks/{trigger.uuid}/" in html
    assert response["Cache-Control"] == "no-store"
    assert trigger.params == {"instance": "alert.labels.instance"}
    again = page.get(reverse("automation:trigger", args=[trigger.pk])).content.decode()
    assert secret not in again


def test_the_page_shows_field_errors_instead_of_creating(cast, runbook):
    page = Client()
    page.force_login(cast.editor)
    response = page.post(reverse("automation:triggers", args=[runbook.pk]), {"name": "", "params": "nope"})
    assert response.status_code == 400
    assert b"NAME=path.in.payload" in response.content
    assert Trigger.objects.count() == 0
