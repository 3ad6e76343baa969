"""`/api/v1/environments/`: every signed-in user reads, staff write; DESIGN.md's shape."""

import pytest

from apps.environments.models import ExecutionEnvironment

READERS = ("owner", "editor", "runner", "viewer", "outsider", "staff", "admin")
NON_STAFF = ("owner", "editor", "runner", "viewer", "outsider")
SHAPE = {"id", "name", "image", "dockerfile", "network", "memory_mb", "cpus", "pids_limit", "timeout_seconds", "env"}


@pytest.fixture
def environment(db):
    return ExecutionEnvironment.objects.create(
        name="busybox", image="runbooks-test-busybox:latest", env={"A": "1"}, is_default=True
    )


@pytest.mark.parametrize("role", READERS)
def test_every_signed_in_user_reads_environments(cast, api_for, environment, role):
    api = api_for(getattr(cast, role))
    listing = api.get("/api/v1/environments/")
    assert listing.status_code == 200
    assert listing.json()["count"] == 1
    item = api.get(f"/api/v1/environments/{environment.pk}/")
    assert item.status_code == 200
    body = item.json()
    assert set(body) >= SHAPE
    assert (body["name"], body["cpus"], body["env"], body["network"]) == ("busybox", 1.0, {"A": "1"}, "none")


def test_anonymous_requests_get_401(environment, api_for):
    assert api_for(None).get("/api/v1/environments/").status_code == 401
    assert api_for(None).get(f"/api/v1/environments/{environment.pk}/").status_code == 401


def test_an_unknown_environment_is_404(cast, api_for):
    assert api_for(cast.viewer).get("/api/v1/environments/999/").status_code == 404


@pytest.mark.parametrize("role", NON_STAFF)
def test_non_staff_cannot_write(cast, api_for, environment, role):
    api = api_for(getattr(cast, role))
    assert api.post("/api/v1/environments/", {"name": "x", "image": "alpine"}, format="json").status_code == 403
    patch = api.patch(f"/api/v1/environments/{environment.pk}/", {"memory_mb": 512}, format="json")
    assert patch.status_code == 403
    assert api.delete(f"/api/v1/environments/{environment.pk}/").status_code == 403
    environment.refresh_from_db()
    assert environment.memory_mb == 256
    assert ExecutionEnvironment.objects.count() == 1


@pytest.mark.parametrize("role", ("staff", "admin"))
def test_staff_create_change_and_delete(cast, api_for, environment, role):
    api = api_for(getattr(cast, role))
    created = api.post(
        "/api/v1/environments/",
        {
            "name": "tools",
            "image": "alpine:3.20",
            "network": "bridge",
            "memory_mb": 512,
            "cpus": 0.5,
            "env": {"X": "y"},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["network"], body["memory_mb"], body["cpus"], body["env"]) == ("bridge", 512, 0.5, {"X": "y"})
    changed = api.patch(f"/api/v1/environments/{body['id']}/", {**body, "pids_limit": 64}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["pids_limit"] == 64
    assert api.delete(f"/api/v1/environments/{body['id']}/").status_code == 204
    assert not ExecutionEnvironment.objects.filter(pk=body["id"]).exists()


def test_bad_input_is_a_400_with_field_errors(cast, api_for):
    answer = api_for(cast.staff).post(
        "/api/v1/environments/", {"name": "", "image": "Bad Image", "memory_mb": 1, "user": "root"}, format="json"
    )
    assert answer.status_code == 400
    assert set(answer.json()) == {"name", "image", "memory_mb", "user"}
    assert not ExecutionEnvironment.objects.exists()


def test_a_non_object_body_is_a_400(cast, api_for):
    answer = api_for(cast.staff).post("/api/v1/environments/", [1, 2], format="json")
    assert answer.status_code == 400


def test_deleting_an_environment_in_use_is_a_400_naming_the_runbooks(cast, api_for, environment):
    other = ExecutionEnvironment.objects.create(name="other", image="alpine")
    cast.runbook.environment = other
    cast.runbook.save(update_fields=["environment"])
    answer = api_for(cast.staff).delete(f"/api/v1/environments/{other.pk}/")
    assert answer.status_code == 400
    assert "Restart the payments API" in answer.json()["non_field_errors"][0]
    assert ExecutionEnvironment.objects.filter(pk=other.pk).exists()


def test_deleting_the_default_is_a_400(cast, api_for, environment):
    answer = api_for(cast.staff).delete(f"/api/v1/environments/{environment.pk}/")
    assert answer.status_code == 400
    assert "default environment cannot be deleted" in answer.json()["non_field_errors"][0]
