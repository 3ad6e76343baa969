"""The environment admin saves and deletes through the environment services: their validation, the
one default, the audit."""

import pytest

from apps.audit.models import AuditEvent
from apps.environments.models import ExecutionEnvironment


def _form(environment: ExecutionEnvironment, **changes) -> dict:
    data = {
        "name": environment.name, "image": environment.image, "dockerfile": environment.dockerfile,
        "network": environment.network, "runtime": environment.runtime, "memory_mb": environment.memory_mb,
        "cpus": str(environment.cpus), "pids_limit": environment.pids_limit,
        "timeout_seconds": environment.timeout_seconds, "env": "{}", "_save": "Save",
    }  # fmt: skip
    if environment.is_default:
        data["is_default"] = "on"
    return data | changes


@pytest.fixture
def environments(cast):
    default = ExecutionEnvironment.objects.create(name="default", image="alpine:3.20", is_default=True)
    other = ExecutionEnvironment.objects.create(name="other", image="alpine:3.19")
    return default, other


def test_an_admin_edit_is_validated_and_audited_once(cast, client_for, environments):
    _, other = environments
    client = client_for(cast.admin)
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    answer = client.post(f"/admin/environments/executionenvironment/{other.pk}/change/", _form(other, memory_mb=512))
    assert answer.status_code == 302, answer.content.decode()[:3000]
    other.refresh_from_db()
    assert other.memory_mb == 512
    event = AuditEvent.objects.exclude(pk__in=before).get()
    assert (event.action, event.actor, event.detail["changed"]) == ("environment.change", cast.admin, ["memory_mb"])


def test_an_admin_edit_breaking_a_service_rule_is_refused_in_place(cast, client_for, environments):
    _, other = environments
    page = client_for(cast.admin).post(
        f"/admin/environments/executionenvironment/{other.pk}/change/", _form(other, dockerfile="FROM alpine")
    )
    assert page.status_code == 200
    assert "Give either an image or a Dockerfile, not both." in page.content.decode()
    other.refresh_from_db()
    assert other.dockerfile == ""


def test_an_environment_added_in_the_admin_is_audited(cast, client_for, environments):
    default, _ = environments
    data = _form(default, name="new-one", image="busybox:1") | {"is_default": ""}
    answer = client_for(cast.admin).post("/admin/environments/executionenvironment/add/", data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    created = ExecutionEnvironment.objects.get(name="new-one")
    assert AuditEvent.objects.filter(action="environment.create", object_id=str(created.pk)).exists()


def test_the_default_environment_cannot_be_deleted_in_the_admin(cast, client_for, environments):
    default, other = environments
    client = client_for(cast.admin)
    assert (
        client.post(f"/admin/environments/executionenvironment/{default.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert ExecutionEnvironment.objects.filter(pk=default.pk).exists()
    answer = client.post(f"/admin/environments/executionenvironment/{other.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302
    assert AuditEvent.objects.filter(action="environment.delete", object_id=str(other.pk)).exists()
