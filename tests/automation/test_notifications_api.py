"""Notification settings through the API and the page: the contract's shapes, clear 400s, nothing half-saved."""

import pytest
from django.urls import reverse

from apps.automation.models import Notification
from apps.credentials.services import credential_create

URL = "/api/v1/runbooks/{}/notifications/"


def test_it_creates_lists_and_deletes_a_notification(cast, api_for):
    api = api_for(cast.editor)
    created = api.post(URL.format(cast.runbook.pk), {"events": ["failed", "started"], "channel": "email",
                                                     "target": "group:sre"}, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    assert created.json() | {"id": 0, "created_at": ""} == {
        "id": 0, "runbook": cast.runbook.pk, "events": ["started", "failed"], "channel": "email",
        "target": "group:sre", "created_by": "editor", "created_at": "",
    }  # fmt: skip
    listed = api.get(URL.format(cast.runbook.pk)).json()
    assert [row["id"] for row in listed["results"]] == [created.json()["id"]]
    assert api.delete(f"/api/v1/notifications/{created.json()['id']}/").status_code == 204
    assert not Notification.objects.exists()


def test_an_apprise_target_is_a_credential_id_and_its_url_is_never_shown(cast, api_for):
    credential = credential_create(user=cast.editor, name="slack", kind="secret", secret="slack://T0/B0/xoxb-secret")
    answer = api_for(cast.editor).post(URL.format(cast.runbook.pk), {"events": ["waiting"], "channel": "apprise",
                                       "target": str(credential.pk)}, format="json")  # fmt: skip
    assert answer.status_code == 201 and answer.json()["target"] == str(credential.pk)
    assert b"xoxb-secret" not in answer.content


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": [], "channel": "email", "target": "viewer"}, "events"),
        ({"events": ["exploded"], "channel": "email", "target": "viewer"}, "events"),
        ({"events": "failed", "channel": "email", "target": "viewer"}, "events"),
        ({"events": ["failed"], "channel": "pigeon", "target": "viewer"}, "channel"),
        ({"events": ["failed"], "channel": "email", "target": "nobody-such"}, "target"),
        ({"events": ["failed"], "channel": "email", "target": "group:none-such"}, "target"),
        ({"events": ["failed"], "channel": "email", "target": ""}, "target"),
        ({"events": ["failed"], "channel": "email", "target": ["viewer"]}, "target"),
        ({"events": ["failed"], "channel": "apprise", "target": "viewer"}, "target"),
        ({"events": ["failed"], "channel": "apprise", "target": "999999"}, "target"),
        ({"events": ["failed"], "channel": "email", "target": "viewer", "extra": 1}, "extra"),
    ],
)
def test_it_refuses_bad_input_with_a_field_error_and_saves_nothing(cast, api_for, body, field):
    answer = api_for(cast.editor).post(URL.format(cast.runbook.pk), body, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json(), answer.json()
    assert not Notification.objects.exists()


def test_it_refuses_a_credential_the_editor_may_not_use(cast, api_for):
    # The owner's credential, never shared with the editor: same answer as an unknown id.
    credential = credential_create(user=cast.owner, name="private", kind="secret", secret="json://10.0.0.1/x")
    answer = api_for(cast.editor).post(URL.format(cast.runbook.pk), {"events": ["failed"], "channel": "apprise",
                                       "target": str(credential.pk)}, format="json")  # fmt: skip
    assert answer.status_code == 400 and "No such credential" in answer.json()["target"][0]
    assert not Notification.objects.exists()


def test_it_refuses_a_credential_of_another_kind(cast, api_for):
    credential = credential_create(user=cast.editor, name="token", kind="token", secret="abc123-token")
    answer = api_for(cast.editor).post(URL.format(cast.runbook.pk), {"events": ["failed"], "channel": "apprise",
                                       "target": str(credential.pk)}, format="json")  # fmt: skip
    assert answer.status_code == 400 and "secret" in answer.json()["target"][0]


def test_the_page_adds_one_and_shows_errors_with_400(cast, client_for):
    client = client_for(cast.editor)
    url = reverse("automation:notifications", args=[cast.runbook.pk])
    bad = client.post(url, {"events": ["failed"], "channel": "email", "target": "nobody-such"})
    assert bad.status_code == 400 and "No such user." in bad.content.decode()
    assert not Notification.objects.exists()
    good = client.post(url, {"events": ["failed", "waiting"], "channel": "email", "target": "runner"})
    assert good.status_code == 302
    page = client.get(url).content.decode()
    assert 'id="notification-list"' in page and "waiting, failed" in page
    (notification,) = Notification.objects.all()
    removed = client.post(reverse("automation:notification_delete", args=[notification.pk]))
    assert removed.status_code == 302 and not Notification.objects.exists()


def test_runners_cannot_manage_notifications(cast, api_for):
    answer = api_for(cast.runner).post(URL.format(cast.runbook.pk), {"events": ["failed"], "channel": "email",
                                       "target": "runner"}, format="json")  # fmt: skip
    assert answer.status_code == 403 and not Notification.objects.exists()
