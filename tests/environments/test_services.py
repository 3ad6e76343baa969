"""Environment services: every bad input refused with a clear message and nothing saved."""

import django_rq
import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from rq.job import Job

from apps.audit.models import AuditEvent
from apps.core.errors import InvalidInput
from apps.environments.models import ExecutionEnvironment
from apps.environments.services import environment_create, environment_delete, environment_tag, environment_update

GOOD = {"name": "tools", "image": "alpine:3.20"}


def create(cast, **changes):
    return environment_create(user=cast.staff, data={**GOOD, **changes})


def refused(cast, field: str, **changes) -> list[str]:
    before = ExecutionEnvironment.objects.count()
    with pytest.raises(InvalidInput) as caught:
        create(cast, **changes)
    assert ExecutionEnvironment.objects.count() == before, "nothing may be half-saved"
    assert field in caught.value.errors, caught.value.errors
    return caught.value.errors[field]


def test_it_creates_an_environment_with_defaults_and_audits_it(cast):
    environment = create(cast, env={"LOG_LEVEL": "debug"})
    assert (environment.memory_mb, environment.pids_limit, environment.timeout_seconds) == (256, 128, 3600)
    assert environment.network == "none"
    event = AuditEvent.objects.get(action="environment.create")
    assert event.object_id == str(environment.pk)
    assert event.detail["env_keys"] == ["LOG_LEVEL"]
    assert "debug" not in str(event.detail)


def test_it_refuses_non_staff(cast):
    for user in (cast.owner, cast.runner, cast.outsider):
        with pytest.raises(PermissionDenied):
            environment_create(user=user, data=GOOD)
    assert not ExecutionEnvironment.objects.exists()


def test_it_refuses_a_duplicate_name_ignoring_case(cast):
    create(cast)
    assert "already exists" in refused(cast, "name", name="TOOLS")[0]


def test_it_refuses_an_empty_name(cast):
    assert "name" in refused(cast, "name", name="  ")[0]


def test_it_refuses_a_too_long_name(cast):
    assert "100" in refused(cast, "name", name="x" * 101)[0]


def test_it_refuses_both_image_and_dockerfile(cast):
    assert "not both" in refused(cast, "image", dockerfile="FROM scratch\n")[0]


def test_it_refuses_neither_image_nor_dockerfile(cast):
    assert "Give an image" in refused(cast, "image", image="", dockerfile="   ")[0]


@pytest.mark.parametrize("image", ["Alpine:3", "alpine:", "-alpine", "alpine latest", "a/../b", "alpine@sha256:xyz"])
def test_it_refuses_a_bad_image_reference(cast, image):
    assert "not a valid image reference" in refused(cast, "image", image=image)[0]


@pytest.mark.parametrize(
    "image", ["alpine", "alpine:3.20", "registry.example.com:5000/team/tool:1.2", "library/busybox@sha256:" + "a" * 64]
)
def test_it_accepts_good_image_references(cast, image):
    assert create(cast, image=image).image == image


def test_it_refuses_a_dockerfile_without_from(cast):
    assert "FROM" in refused(cast, "dockerfile", image="", dockerfile="RUN echo hi\n")[0]


def test_it_refuses_a_huge_dockerfile(cast):
    assert "bytes" in refused(cast, "dockerfile", image="", dockerfile="FROM scratch\n" + "#" * 70000)[0]


@pytest.mark.parametrize("value", [15, 65537, 0, -1])
def test_it_refuses_memory_out_of_range(cast, value):
    assert "16 to 65,536" in refused(cast, "memory_mb", memory_mb=value)[0]


@pytest.mark.parametrize("value", ["lots", 1.5, True, None, [1]])
def test_it_refuses_memory_that_is_not_a_whole_number(cast, value):
    assert refused(cast, "memory_mb", memory_mb=value) == ["Give a whole number."]


@pytest.mark.parametrize("value", [0.05, 65, "0", -1])
def test_it_refuses_cpus_out_of_range(cast, value):
    assert "0.1 to 64" in refused(cast, "cpus", cpus=value)[0]


@pytest.mark.parametrize("value", ["many", "nan", True, None])
def test_it_refuses_cpus_that_are_not_a_number(cast, value):
    message = refused(cast, "cpus", cpus=value)[0]
    assert "number of CPUs" in message or "0.1 to 64" in message


def test_it_refuses_cpus_with_three_decimals(cast):
    assert "two decimals" in refused(cast, "cpus", cpus="0.125")[0]


@pytest.mark.parametrize("value", [7, 32769])
def test_it_refuses_a_pids_limit_out_of_range(cast, value):
    assert "8 to 32,768" in refused(cast, "pids_limit", pids_limit=value)[0]


@pytest.mark.parametrize("value", [0, 86401])
def test_it_refuses_a_timeout_out_of_range(cast, value):
    assert "1 to 86,400" in refused(cast, "timeout_seconds", timeout_seconds=value)[0]


def test_it_refuses_an_unknown_network(cast):
    assert "none" in refused(cast, "network", network="host")[0]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("A=1", "object of NAME"),
        ({"lower": "x"}, "not a valid name"),
        ({"1ABC": "x"}, "not a valid name"),
        ({"A-B": "x"}, "not a valid name"),
        ({"A": 1}, "must be text"),
        ({"A": "x\x00"}, "without NUL"),
        ({"A": "x" * 5000}, "under 4,096 bytes"),
        ({"RB_PARAM_HOST": "x"}, "reserved"),
    ],
)
def test_it_refuses_bad_env(cast, env, expected):
    assert expected in refused(cast, "env", env=env)[0]


def test_it_refuses_unknown_fields(cast):
    assert refused(cast, "privileged", privileged=True) == ["Unknown field for an environment."]


def test_update_changes_only_given_fields_and_audits_the_change(cast):
    environment = create(cast)
    environment_update(environment=environment, user=cast.staff, data={"memory_mb": 512})
    environment.refresh_from_db()
    assert (environment.memory_mb, environment.image) == (512, "alpine:3.20")
    assert AuditEvent.objects.get(action="environment.change").detail["changed"] == ["memory_mb"]


def test_update_with_bad_input_saves_nothing(cast):
    environment = create(cast)
    with pytest.raises(InvalidInput):
        environment_update(environment=environment, user=cast.staff, data={"memory_mb": 512, "cpus": 100})
    environment.refresh_from_db()
    assert environment.memory_mb == 256


def test_the_first_environment_becomes_the_default(cast):
    first = create(cast, name="one")
    second = create(cast, name="two")
    assert (first.is_default, second.is_default) == (True, False)


def test_making_one_default_unsets_the_other(cast):
    first = create(cast, name="one", is_default=True)
    second = create(cast, name="two", is_default=True)
    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)


def test_the_default_cannot_be_deleted(cast):
    environment = create(cast, is_default=True)
    with pytest.raises(InvalidInput) as caught:
        environment_delete(environment=environment, user=cast.staff)
    assert "default environment cannot be deleted" in caught.value.errors["non_field_errors"][0]
    assert ExecutionEnvironment.objects.filter(pk=environment.pk).exists()


@pytest.fixture
def a_default(db):
    return ExecutionEnvironment.objects.create(name="default", image="busybox", is_default=True)


def test_delete_is_refused_while_runbooks_use_it_and_names_them(cast, a_default):
    environment = create(cast)
    cast.runbook.environment = environment
    cast.runbook.save(update_fields=["environment"])
    with pytest.raises(InvalidInput) as caught:
        environment_delete(environment=environment, user=cast.staff)
    assert "“Restart the payments API”" in caught.value.errors["non_field_errors"][0]
    assert ExecutionEnvironment.objects.filter(pk=environment.pk).exists()


def test_delete_removes_an_unused_environment_and_audits_it(cast, a_default):
    environment = create(cast)
    pk = environment.pk
    environment_delete(environment=environment, user=cast.staff)
    assert not ExecutionEnvironment.objects.filter(pk=pk).exists()
    assert AuditEvent.objects.filter(action="environment.delete", object_id=str(pk)).exists()


def test_a_dockerfile_environment_is_queued_for_a_build_after_commit(cast, django_capture_on_commit_callbacks):
    queue = django_rq.get_queue(settings.RUNBOOKS_QUEUES["default"])
    dockerfile = "FROM runbooks-test-busybox:latest\nRUN echo built > /built\n"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        environment = create(cast, image="", dockerfile=dockerfile)
        job_id = f"environment-build-{environment.pk}"
        # Left by an earlier run of the suite: ids restart at 1 in each test database.
        if Job.exists(job_id, connection=queue.connection):
            Job.fetch(job_id, connection=queue.connection).delete()
        assert environment.build_status == "building"
        assert not Job.exists(job_id, connection=queue.connection), "nothing is queued before the commit"
    assert callbacks, "the build is queued only once the transaction commits"
    try:
        # Checked by the job's record, not the queue list: a concurrent test's burst worker may take it.
        job = Job.fetch(job_id, connection=queue.connection)
        assert (job.origin, job.func_name, job.args) == (
            settings.RUNBOOKS_QUEUES["default"],
            "apps.environments.jobs.build_environment",
            (environment.pk,),
        )
    finally:
        queue.remove(job_id)
    assert environment_tag(dockerfile).startswith("runbooks-env:") and len(environment_tag(dockerfile)) == 25


# Committed for real: inside a test's transaction django-rq would put off the enqueue (and its
# error) to a commit that never comes.
@pytest.mark.django_db(transaction=True)
def test_with_redis_down_the_build_says_it_could_not_be_queued(cast, settings):
    # A real closed port: nothing listens on 127.0.0.1:1.
    settings.RQ_QUEUES = {name: {"URL": "redis://127.0.0.1:1/0"} for name in settings.RUNBOOKS_QUEUES.values()}
    environment = create(cast, image="", dockerfile="FROM runbooks-test-busybox:latest\n")
    environment.refresh_from_db()
    assert environment.build_status == "failed", "not left 'building' forever"
    assert environment.build_log == "Could not queue the build: Redis is not reachable. Use Rebuild once it is back.\n"
