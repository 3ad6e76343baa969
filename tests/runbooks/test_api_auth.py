"""How callers prove who they are: personal Bearer tokens, or the browser session with CSRF."""

from rest_framework.test import APIClient

from apps.accounts.services import api_token_create, api_token_revoke
from apps.runbooks.models import Runbook

CSRF_SECRET = "k" * 32


def bearer(value: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {value}")
    return api


def test_a_bearer_token_signs_its_user_in(cast):
    _, value = api_token_create(user=cast.viewer, name="laptop")
    response = bearer(value).get(f"/api/v1/runbooks/{cast.runbook.pk}/")
    assert response.status_code == 200
    assert response.json()["title"] == cast.runbook.title


def test_a_revoked_token_gets_401(cast):
    token, value = api_token_create(user=cast.owner, name="ci")
    assert bearer(value).get("/api/v1/runbooks/").status_code == 200
    api_token_revoke(token=token, user=cast.owner)
    response = bearer(value).get("/api/v1/runbooks/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_unknown_token_gets_401(cast):
    response = bearer("rbk_not-a-real-token").get("/api/v1/runbooks/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_token_of_a_deactivated_user_gets_401(cast):
    _, value = api_token_create(user=cast.editor, name="old")
    cast.editor.is_active = False
    cast.editor.save()
    assert bearer(value).get("/api/v1/runbooks/").status_code == 401


def test_no_credentials_get_401_with_a_bearer_challenge(cast):
    response = APIClient().post("/api/v1/runbooks/", {"title": "Anonymous"}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert not Runbook.objects.filter(title="Anonymous").exists()


def session_client(user) -> APIClient:
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(user)
    return api


def test_a_session_may_read_without_a_csrf_token(cast):
    assert session_client(cast.viewer).get(f"/api/v1/runbooks/{cast.runbook.pk}/").status_code == 200


def test_a_session_write_without_a_csrf_token_is_refused(cast):
    api = session_client(cast.owner)
    created = api.post("/api/v1/runbooks/", {"title": "No CSRF"}, format="json")
    patched = api.patch(
        f"/api/v1/runbooks/{cast.runbook.pk}/", {"title": "No CSRF", "revision": cast.runbook.revision}, format="json"
    )
    assert created.status_code == 403
    assert "CSRF" in created.json()["detail"]
    assert patched.status_code == 403
    assert not Runbook.objects.filter(title="No CSRF").exists()


def test_a_session_write_with_the_csrf_token_succeeds(cast):
    api = session_client(cast.owner)
    api.cookies["csrftoken"] = CSRF_SECRET
    response = api.post("/api/v1/runbooks/", {"title": "With CSRF"}, format="json", HTTP_X_CSRFTOKEN=CSRF_SECRET)
    assert response.status_code == 201
    assert response.json()["owner"] == "owner"
