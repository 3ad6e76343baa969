"""/api/v1/credentials/: DESIGN.md's shape, secret write-only, roles enforced."""

import pytest

from apps.credentials.models import Credential
from apps.credentials.services import credential_grant
from apps.runbooks.services.runbooks import runbook_create
from tests.credentials.conftest import SECRET

SHAPE = {"id", "name", "kind", "username", "header_name", "description", "created_at", "updated_at", "last_used_at"}


def test_create_answers_the_shape_without_the_secret(cast, api_for):
    answer = api_for(cast.editor).post(
        "/api/v1/credentials/",
        {"name": "jira", "kind": "basic", "username": "bot", "secret": "jira-password-1"},
        format="json",
    )
    assert answer.status_code == 201
    assert set(answer.json()) == SHAPE
    assert "jira-password-1" not in answer.content.decode()
    assert Credential.objects.get(name="jira").secret == "jira-password-1"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "a1", "kind": "token"}, "secret", "A secret is required."),
        ({"name": "a1", "kind": "token", "secret": ""}, "secret", "A secret is required."),
        ({"name": "a1", "kind": "token", "secret": "short"}, "secret", "cannot be masked safely"),
        ({"name": "a1", "kind": "magic", "secret": "long-enough-1"}, "kind", "Unknown kind “magic”"),
        ({"name": "payments-api", "kind": "token", "secret": "long-enough-1"}, "name", "already exists"),
        ({"name": "a1", "kind": "token", "secret": "long-enough-1", "owner": "x"}, "owner", "Unknown field."),
    ],
)
def test_create_refuses_bad_input_clearly(credential, cast, api_for, body, field, message):
    answer = api_for(cast.owner).post("/api/v1/credentials/", body, format="json")
    assert answer.status_code == 400
    assert message in answer.json()[field][0]
    assert "long-enough-1" not in answer.content.decode()
    assert Credential.objects.count() == 1


def test_list_and_detail_show_only_what_the_caller_may_see(credential, cast, api_for):
    assert api_for(cast.owner).get("/api/v1/credentials/").json()["count"] == 1
    assert api_for(cast.outsider).get("/api/v1/credentials/").json() == {
        "count": 0, "next": None, "previous": None, "results": [],
    }  # fmt: skip
    detail = api_for(cast.owner).get(f"/api/v1/credentials/{credential.pk}/")
    assert set(detail.json()) == SHAPE
    assert SECRET not in detail.content.decode() and "gAAAAA" not in detail.content.decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("patch", ""), ("delete", ""), ("get", "access/"), ("put", "access/")],
)
def test_outsiders_get_404(credential, cast, api_for, method, path):
    answer = getattr(api_for(cast.outsider), method)(f"/api/v1/credentials/{credential.pk}/{path}", {}, format="json")
    assert answer.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("patch", ""), ("delete", ""), ("get", "access/"), ("put", "access/")],
)
def test_a_user_gets_403_on_owner_actions(credential, cast, api_for, method, path):
    credential_grant(credential=credential, actor=cast.owner, principal=cast.runner, role="user")
    answer = getattr(api_for(cast.runner), method)(f"/api/v1/credentials/{credential.pk}/{path}", [], format="json")
    assert answer.status_code == 403
    assert Credential.objects.filter(pk=credential.pk).exists()


def test_patch_without_secret_keeps_it_and_ignores_read_only_fields(credential, cast, api_for):
    api = api_for(cast.owner)
    current = api.get(f"/api/v1/credentials/{credential.pk}/").json()
    answer = api.patch(f"/api/v1/credentials/{credential.pk}/", {**current, "description": "v2"}, format="json")
    assert answer.status_code == 200 and answer.json()["description"] == "v2"
    assert Credential.objects.get(pk=credential.pk).secret == SECRET


def test_patch_replaces_the_secret_and_never_answers_it(credential, cast, api_for):
    answer = api_for(cast.owner).patch(
        f"/api/v1/credentials/{credential.pk}/", {"secret": "patched-secret-1"}, format="json"
    )
    assert answer.status_code == 200 and "secret" not in answer.json()
    assert Credential.objects.get(pk=credential.pk).secret == "patched-secret-1"


def test_patch_refuses_a_short_secret(credential, cast, api_for):
    answer = api_for(cast.owner).patch(f"/api/v1/credentials/{credential.pk}/", {"secret": "1234"}, format="json")
    assert answer.status_code == 400 and "at least 8" in answer.json()["secret"][0]
    assert Credential.objects.get(pk=credential.pk).secret == SECRET


def test_delete_in_use_answers_409_counting_the_runbooks(credential, cast, api_for):
    runbook_create(
        user=cast.owner,
        title="Rotate certificates",
        blocks=[{"key": "run", "kind": "command", "config": {"script": "true", "credentials": [credential.pk]}}],
    )
    answer = api_for(cast.owner).delete(f"/api/v1/credentials/{credential.pk}/")
    # Counted, not named: the person deleting may not see every runbook (GET …/usage/ lists them).
    assert answer.status_code == 409
    assert answer.json()["detail"].endswith("is used by the blocks of 1 runbook. Remove it from their blocks first.")
    assert "Rotate certificates" not in answer.json()["detail"]


def test_delete_answers_204(credential, cast, api_for):
    assert api_for(cast.owner).delete(f"/api/v1/credentials/{credential.pk}/").status_code == 204
    assert not Credential.objects.exists()


def test_access_reads_and_replaces_roles(credential, cast, api_for):
    api = api_for(cast.owner)
    path = f"/api/v1/credentials/{credential.pk}/access/"
    assert api.get(path).json() == [{"principal": "user:owner", "role": "owner"}]
    entries = [{"principal": "user:owner", "role": "owner"}, {"principal": "group:sre", "role": "user"}]
    answer = api.put(path, entries, format="json")
    assert answer.status_code == 200
    assert answer.json() == [{"principal": "group:sre", "role": "user"}, {"principal": "user:owner", "role": "owner"}]
    refused = api.put(path, [{"principal": "user:runner", "role": "viewer"}], format="json")
    assert refused.status_code == 400 and "Unknown role “viewer”" in refused.json()["entries"][0]["role"][0]


def test_anonymous_requests_get_401(credential, api_for):
    assert api_for(None).get("/api/v1/credentials/").status_code == 401
