"""A queued run whose job vanished from Redis is queued again: it never started, so nothing runs twice."""

from datetime import timedelta

from django.utils import timezone

from apps.executions.models import Execution
from apps.executions.queue import executions_queue
from apps.executions.reaper import QUEUED_GRACE_SECONDS, reap_expired, recover_vanished_jobs
from apps.executions.services.start import execution_start
from tests.support.executions import command


def age(execution: Execution, seconds: int) -> None:
    Execution.objects.filter(pk=execution.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def _forget_job(execution: Execution) -> None:
    # Execution ids start at 1 in every test database, while Redis outlives them: make sure no job
    # another test (or an earlier run) left under this id stands in for the vanished one.
    leftover = executions_queue().fetch_job(f"execution-{execution.pk}")
    if leftover is not None:
        leftover.delete()


def test_a_queued_run_whose_job_is_gone_is_enqueued_again_and_stays_queued(
    cast, make_runbook, django_capture_on_commit_callbacks
):
    runbook = make_runbook(cast.owner, [command("first", "echo 1"), command("second", "echo 2")])
    execution = execution_start(runbook=runbook, user=cast.runner)  # its job is never committed to Redis
    _forget_job(execution)
    age(execution, QUEUED_GRACE_SECONDS + 5)
    try:
        # django-rq enqueues when the transaction commits; a test's transaction never does.
        with django_capture_on_commit_callbacks(execute=True):
            assert reap_expired() == []  # nothing became incomplete
        execution.refresh_from_db()
        assert (execution.status, execution.error) == ("queued", "")
        assert set(execution.steps.values_list("status", flat=True)) == {"pending"}
        job = executions_queue().fetch_job(f"execution-{execution.pk}")
        assert job is not None and job.get_status() == "queued" and job.args == (execution.pk,)
        # Once its job is there again, a second pass adds nothing.
        with django_capture_on_commit_callbacks(execute=True):
            assert recover_vanished_jobs()["requeued"] == []
    finally:
        executions_queue().remove(f"execution-{execution.pk}")
        _forget_job(execution)


def test_a_queued_run_whose_job_waits_in_redis_is_left_alone(cast, make_runbook, django_capture_on_commit_callbacks):
    runbook = make_runbook(cast.owner, [command("first", "echo 1")])
    # django-rq enqueues when the transaction commits; a test's transaction never does.
    with django_capture_on_commit_callbacks(execute=True):
        execution = execution_start(runbook=runbook, user=cast.runner)
    job = executions_queue().fetch_job(f"execution-{execution.pk}")
    assert job is not None
    age(execution, QUEUED_GRACE_SECONDS + 5)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert execution.pk not in recover_vanished_jobs()["requeued"]
        execution.refresh_from_db()
        assert execution.status == "queued"
        assert executions_queue().get_job_ids().count(f"execution-{execution.pk}") == 1
    finally:
        executions_queue().remove(f"execution-{execution.pk}")


def test_a_fresh_queued_run_is_given_time(cast, make_runbook, django_capture_on_commit_callbacks):
    runbook = make_runbook(cast.owner, [command("first", "echo 1")])
    execution = execution_start(runbook=runbook, user=cast.runner)  # no job yet, but only just queued
    _forget_job(execution)
    with django_capture_on_commit_callbacks(execute=True):
        assert execution.pk not in recover_vanished_jobs()["requeued"]
    execution.refresh_from_db()
    assert execution.status == "queued"
    assert executions_queue().fetch_job(f"execution-{execution.pk}") is None
