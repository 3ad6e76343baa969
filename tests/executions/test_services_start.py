"""execution_start: which content runs, who may run it, params, environment, and Redis checked first."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.audit.models import AuditEvent
from apps.core.errors import InvalidInput, ServiceUnavailable
from apps.environments.models import ExecutionEnvironment
from apps.executions.models import Execution, StepRun
from apps.executions.services.start import NO_PUBLISHED_VERSION, execution_start
from apps.runbooks.services.runbooks import runbook_update
from apps.runbooks.versions import runbook_publish
from tests.support.executions import command

PARAMETERS = [
    {"name": "region", "label": "Region", "default": "eu", "required": True, "choices": ["eu", "us"]},
    {"name": "ticket", "label": "Ticket", "default": None, "required": True, "choices": None},
    {"name": "note", "label": "Note", "default": None, "required": False, "choices": None},
]


@pytest.fixture
def runbook(cast, make_runbook):
    return make_runbook(cast.owner, [command("one", "echo one"), command("two", "echo two")], parameters=PARAMETERS)


def test_it_queues_a_full_run_of_the_latest_published_version(cast, runbook):
    execution = execution_start(runbook=runbook, user=cast.runner, params={"ticket": "INC-1"})
    assert execution.status == "queued"
    assert execution.version.number == 1 and not execution.draft
    assert execution.mode == "full" and execution.block_key == ""
    assert execution.params == {"region": "eu", "ticket": "INC-1", "note": ""}
    assert execution.environment["image"] == "runbooks-test-busybox:latest"
    assert execution.environment["memory_mb"] == 64
    assert [(step.block_key, step.status) for step in execution.steps.all()] == [("one", "pending"), ("two", "pending")]
    event = AuditEvent.objects.get(action="execution.start")
    assert event.object_id == str(execution.pk) and event.actor == cast.runner


def test_a_block_run_has_one_step(cast, runbook):
    execution = execution_start(runbook=runbook, user=cast.runner, params={"ticket": "x"}, block="two")
    assert execution.mode == "block" and execution.block_key == "two"
    assert list(execution.steps.values_list("block_key", "position")) == [("two", 0)]


def test_it_refuses_an_unknown_block_and_saves_nothing(cast, runbook):
    with pytest.raises(InvalidInput) as error:
        execution_start(runbook=runbook, user=cast.runner, params={"ticket": "x"}, block="nope")
    assert "nope" in error.value.errors["block"][0]
    assert not Execution.objects.exists() and not StepRun.objects.exists()


def test_without_a_published_version_it_says_editors_can_run_the_draft(cast, make_runbook):
    draft_only = make_runbook(cast.owner, [command("one", "true")], publish=False)
    with pytest.raises(InvalidInput) as error:
        execution_start(runbook=draft_only, user=cast.owner)
    assert error.value.errors == {"version": [NO_PUBLISHED_VERSION]}


def test_editors_run_the_draft_and_it_is_recorded_as_such(cast, runbook):
    runbook_update(runbook=runbook, user=cast.owner, revision=runbook.revision, title="Changed in the draft")
    execution = execution_start(runbook=runbook, user=cast.editor, params={"ticket": "x"}, version="draft")
    assert execution.draft and execution.version is None
    assert execution.snapshot["title"] == "Changed in the draft"


def test_runners_may_not_run_the_draft(cast, runbook):
    with pytest.raises(PermissionDenied):
        execution_start(runbook=runbook, user=cast.runner, params={"ticket": "x"}, version="draft")
    assert not Execution.objects.exists()


@pytest.mark.parametrize("user, error", [("viewer", PermissionDenied), ("outsider", Http404), ("staff", Http404)])
def test_it_refuses_people_without_the_runner_role(cast, runbook, user, error):
    with pytest.raises(error):
        execution_start(runbook=runbook, user=getattr(cast, user), params={"ticket": "x"})
    assert not Execution.objects.exists()


def test_a_pinned_version_keeps_its_snapshot_after_a_newer_one_is_published(cast, runbook):
    runbook_update(runbook=runbook, user=cast.owner, revision=runbook.revision, blocks=[command("three", "echo three")])
    runbook_publish(runbook=runbook, user=cast.owner, message="v2")
    # An editor's run: runners run only the latest published version.
    old = execution_start(runbook=runbook, user=cast.editor, params={"ticket": "x"}, version=1)
    new = execution_start(runbook=runbook, user=cast.runner, params={"ticket": "x"})
    assert [block["key"] for block in old.snapshot["blocks"]] == ["one", "two"]
    assert old.version.number == 1 and new.version.number == 2
    assert list(new.steps.values_list("block_key", flat=True)) == ["three"]


@pytest.mark.parametrize("version", [7, "seven", True, 1.5])
def test_it_refuses_a_version_that_does_not_exist(cast, runbook, version):
    with pytest.raises(InvalidInput) as error:
        execution_start(runbook=runbook, user=cast.runner, params={"ticket": "x"}, version=version)
    assert error.value.errors["version"]
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    "params, field, message",
    [
        ({}, "ticket", "This parameter is required."),
        ({"ticket": ""}, "ticket", "This parameter is required."),
        ({"ticket": "x", "region": "mars"}, "region", "Choose one of: eu, us."),
        ({"ticket": "x", "typo": "1"}, "typo", "This runbook has no such parameter."),
        ({"ticket": 5}, "ticket", "Give the value as text."),
        ({"ticket": "x" * 4097}, "ticket", "Keep the value under 4,096 bytes."),
        ({"ticket": "a\x00b"}, "ticket", "The value cannot contain a NUL character."),
    ],
)
def test_it_refuses_bad_params_with_a_message_per_name(cast, runbook, params, field, message):
    with pytest.raises(InvalidInput) as error:
        execution_start(runbook=runbook, user=cast.runner, params=params)
    assert error.value.errors["params"][field] == [message]
    assert not Execution.objects.exists()


def test_it_refuses_params_that_are_not_an_object(cast, runbook):
    with pytest.raises(InvalidInput) as error:
        execution_start(runbook=runbook, user=cast.runner, params=["ticket"])
    assert "object" in error.value.errors["params"]["non_field_errors"][0]


def test_without_any_environment_it_says_so(cast, make_runbook):
    runbook = make_runbook(cast.owner, [command("one", "true")])
    # A version published when the runbook had no environment, and no default environment exists.
    version = runbook.versions.get()
    version.snapshot = {**version.snapshot, "environment": None}
    version.save()
    ExecutionEnvironment.objects.update(is_default=False)
    with pytest.raises(InvalidInput) as error:
        execution_start(runbook=runbook, user=cast.owner)
    assert "no execution environment" in error.value.errors["environment"][0]
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    ("build_status", "state"),
    [("failed", "failed to build"), ("building", "is still building"), ("none", "has not been built yet")],
)
def test_an_unbuilt_dockerfile_environment_is_refused_with_its_state(
    cast, make_runbook, environment, build_status, state
):
    # The runbook chose the environment while it worked; its build broke (or restarted) since.
    runbook = make_runbook(cast.owner, [command("one", "true")])
    environment.image = ""
    environment.dockerfile = "FROM scratch"
    environment.build_status = build_status
    environment.save()
    with pytest.raises(InvalidInput) as error:
        execution_start(runbook=runbook, user=cast.owner)
    assert error.value.errors["environment"] == [
        f"The environment “busybox” has no usable image: its Dockerfile {state}."
    ]
    assert not Execution.objects.exists()


def test_a_built_dockerfile_environment_runs_its_built_image(cast, make_runbook, environment):
    ExecutionEnvironment.objects.filter(pk=environment.pk).update(
        dockerfile="FROM scratch", build_status="ready", built_image="runbooks-env:abc123"
    )
    runbook = make_runbook(cast.owner, [command("one", "true")])
    assert execution_start(runbook=runbook, user=cast.owner).environment["image"] == "runbooks-env:abc123"


def test_with_redis_down_it_raises_service_unavailable_and_leaves_no_execution(cast, runbook, settings):
    # A real closed port: nothing listens on 127.0.0.1:1.
    settings.RQ_QUEUES = {name: {"URL": "redis://127.0.0.1:1/0"} for name in settings.RUNBOOKS_QUEUES.values()}
    with pytest.raises(ServiceUnavailable) as error:
        execution_start(runbook=runbook, user=cast.runner, params={"ticket": "x"})
    assert str(error.value) == "Could not queue the run: Redis is not reachable at 127.0.0.1:1."
    assert not Execution.objects.exists() and not StepRun.objects.exists()
    assert not AuditEvent.objects.filter(action="execution.start").exists()
