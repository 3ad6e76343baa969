"""Sign-in success and failure are on the trail; the password never is."""

import json

from django.contrib.auth import get_user_model

from apps.audit.models import AuditEvent


def test_a_successful_sign_in_is_recorded(cast, client):
    response = client.post("/accounts/login/", {"username": "viewer", "password": "viewer"})
    assert response.status_code == 302
    event = AuditEvent.objects.filter(action="auth.login").latest("seq")
    assert event.actor == cast.viewer
    assert (event.object_type, event.object_id) == ("user", str(cast.viewer.pk))
    assert event.detail["ip"] == "127.0.0.1"


def test_a_failed_sign_in_records_the_attempted_username_and_never_the_password(cast, client):
    response = client.post("/accounts/login/", {"username": "viewer", "password": "hunter2-secret"})
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor is None and event.actor_name == ""
    assert event.detail["username"] == "viewer"
    serialized = json.dumps(list(AuditEvent.objects.values("detail", "actor_name", "object_id", "action")), default=str)
    assert "hunter2-secret" not in serialized
    assert "********" not in serialized


def test_a_failed_sign_in_for_an_unknown_user_is_recorded(db, client):
    client.post("/accounts/login/", {"username": "nobody", "password": "x"})
    assert AuditEvent.objects.get(action="auth.login_failed").detail["username"] == "nobody"
    assert not get_user_model().objects.filter(username="nobody").exists()
