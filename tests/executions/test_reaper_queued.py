"""A queued run whose job vanished from Redis must not stay "queued" forever."""

from datetime import timedelta

from django.utils import timezone

from apps.executions.models import Execution
from apps.executions.reaper import LOST_IN_QUEUE, QUEUED_GRACE_SECONDS, reap_expired
from apps.executions.services import execution_start, executions_queue
from tests.executions.conftest import command


def age(execution: Execution, seconds: int) -> None:
    Execution.objects.filter(pk=execution.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_a_queued_run_whose_job_is_gone_becomes_incomplete_with_every_step_skipped(cast, make_runbook):
    runbook = make_runbook(cast.owner, [command("first", "echo 1"), command("second", "echo 2")])
    execution = execution_start(runbook=runbook, user=cast.runner)  # its job is never committed to Redis
    # Execution ids start at 1 in every test database, while Redis outlives them: make sure no job
    # another test (or an earlier run) left under this id stands in for the vanished one.
    leftover = executions_queue().fetch_job(f"execution-{execution.pk}")
    if leftover is not None:
        leftover.delete()
    age(execution, QUEUED_GRACE_SECONDS + 5)
    assert execution.pk in reap_expired()
    execution.refresh_from_db()
    assert (execution.status, execution.error) == ("incomplete", LOST_IN_QUEUE)
    assert set(execution.steps.values_list("status", flat=True)) == {"skipped"}


def test_a_queued_run_whose_job_waits_in_redis_is_left_alone(cast, make_runbook, django_capture_on_commit_callbacks):
    runbook = make_runbook(cast.owner, [command("first", "echo 1")])
    # django-rq enqueues when the transaction commits; a test's transaction never does.
    with django_capture_on_commit_callbacks(execute=True):
        execution = execution_start(runbook=runbook, user=cast.runner)
    assert executions_queue().fetch_job(f"execution-{execution.pk}") is not None
    age(execution, QUEUED_GRACE_SECONDS + 5)
    try:
        assert execution.pk not in reap_expired()
        execution.refresh_from_db()
        assert execution.status == "queued"
    finally:
        executions_queue().remove(f"execution-{execution.pk}")


def test_a_fresh_queued_run_is_given_time(cast, make_runbook):
    runbook = make_runbook(cast.owner, [command("first", "echo 1")])
    execution = execution_start(runbook=runbook, user=cast.runner)  # no job yet, but only just queued
    assert execution.pk not in reap_expired()
    execution.refresh_from_db()
    assert execution.status == "queued"
