"""Timers: the run waits holding no worker, resumes through RQ's scheduler, can be skipped."""

import os
import signal
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.audit.models import AuditEvent
from apps.core.errors import Conflict
from apps.executions.jobs import resume_execution
from apps.executions.models import StepRun
from apps.executions.queue import default_queue, executions_queue, timer_due, timer_job_id
from apps.executions.services.decide import execution_skip_timer
from apps.executions.services.start import execution_start
from tests.executions.test_reaper import Database, _environment, _manage, _start_worker, _wait_for
from tests.support.executions import run_now


def timer(key: str, seconds: int) -> dict:
    return {"key": key, "kind": "timer", "config": {"seconds": seconds}}


def note(key: str) -> dict:
    return {"key": key, "kind": "instruction", "config": {"markdown": key, "gate": "none"}}


@pytest.fixture
def queue():
    queue = executions_queue()
    # This xdist worker's queue: other tests' runs (started, never worked) may still be in it.
    unschedule_all(queue)
    queue.empty()
    yield queue
    unschedule_all(queue)
    queue.empty()


def unschedule_all(queue) -> None:
    registry = queue.scheduled_job_registry
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)


@pytest.fixture
def waiting_timer(cast, make_runbook, queue):
    def make(seconds: int = 600):
        runbook = make_runbook(cast.owner, [timer("pause", seconds), note("after")])
        execution = run_now(execution_start(runbook=runbook, user=cast.runner))
        return execution, execution.steps.get(block_key="pause")

    return make


def test_a_timer_waits_with_its_resume_scheduled_in_redis(waiting_timer, queue):
    execution, step = waiting_timer(600)
    assert (execution.status, step.status, execution.worker_name, execution.lease_expires_at) == (
        "waiting",
        "waiting",
        "",
        None,
    )
    until = parse_datetime(step.result["wait"]["until"])
    assert timedelta(seconds=590) < until - timezone.now() <= timedelta(seconds=600)
    job_id = timer_job_id(execution.pk, step.pk)
    assert job_id in queue.scheduled_job_registry.get_job_ids()
    scheduled = queue.scheduled_job_registry.get_scheduled_time(job_id)
    # Never before the timer ends (RQ keeps whole seconds: the engine rounds up), at most 1 s after.
    assert timedelta(0) <= scheduled - until < timedelta(seconds=1)
    job = queue.fetch_job(job_id)
    assert (job.func_name, job.args) == ("apps.executions.jobs.resume_execution", (execution.pk,))


def test_a_resume_before_the_time_puts_the_run_back_to_waiting(waiting_timer):
    execution, step = waiting_timer(600)
    resume_execution(execution.pk)
    execution.refresh_from_db()
    step.refresh_from_db()
    assert (execution.status, step.status) == ("waiting", "waiting")


def test_the_due_time_of_a_continuation_is_rounded_up_to_a_whole_second():
    moment = timezone.now().replace(microsecond=0)
    assert timer_due(moment) == moment
    assert timer_due(moment + timedelta(microseconds=900_000)) == moment + timedelta(seconds=1)
    assert timer_due(moment + timedelta(microseconds=1)) == moment + timedelta(seconds=1)


def test_a_continuation_a_little_early_still_ends_the_timer(waiting_timer):
    # Another host's scheduler clock may run a little ahead: the run must not go back to waiting
    # with nothing left to wake it.
    execution, step = waiting_timer(600)
    until = timezone.now() + timedelta(milliseconds=500)
    StepRun.objects.filter(pk=step.pk).update(result={"wait": {"reason": "timer", "until": until.isoformat()}})
    resume_execution(execution.pk)
    execution.refresh_from_db()
    assert execution.status == "succeeded"


def test_the_scheduled_resume_continues_the_run_once_the_time_came(waiting_timer):
    execution, _step = waiting_timer(1)
    # The clock moves past the timer instead of the test waiting for it.
    with time_machine.travel(timezone.now() + timedelta(seconds=1.2), tick=True):
        resume_execution(execution.pk)
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert execution.steps.get(block_key="pause").status == "succeeded"
    assert execution.steps.get(block_key="after").status == "succeeded"


def test_a_runner_skips_the_timer_and_the_run_goes_on(waiting_timer, cast, queue, django_capture_on_commit_callbacks):
    execution, step = waiting_timer(600)
    with django_capture_on_commit_callbacks(execute=True):
        execution_skip_timer(execution=execution, user=cast.runner, key="pause")
    step.refresh_from_db()
    assert step.status == "succeeded"
    assert (step.result["skipped"], step.result["skipped_by"]) == (True, "runner")
    assert AuditEvent.objects.filter(action="execution.timer_skip", object_id=str(execution.pk)).exists()
    # The scheduled resume is gone; the skip queued an immediate one instead.
    assert timer_job_id(execution.pk, step.pk) not in queue.scheduled_job_registry.get_job_ids()
    assert [job.func_name for job in queue.get_jobs()] == ["apps.executions.jobs.resume_execution"]
    resume_execution(execution.pk)
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    # A late scheduled resume (had it fired anyway) changes nothing.
    resume_execution(execution.pk)
    execution.refresh_from_db()
    assert execution.status == "succeeded"


def test_a_viewer_cannot_skip_a_timer(waiting_timer, cast):
    execution, step = waiting_timer(600)
    with pytest.raises(PermissionDenied):
        execution_skip_timer(execution=execution, user=cast.viewer, key="pause")
    step.refresh_from_db()
    assert step.status == "waiting"


def test_skipping_twice_is_a_conflict(waiting_timer, cast):
    execution, _ = waiting_timer(600)
    execution_skip_timer(execution=execution, user=cast.runner, key="pause")
    with pytest.raises(Conflict, match="not waiting"):
        execution_skip_timer(execution=execution, user=cast.editor, key="pause")


def test_a_gate_cannot_be_skipped_as_a_timer(cast, make_runbook):
    runbook = make_runbook(
        cast.owner, [{"key": "gate", "kind": "instruction", "config": {"markdown": "x", "gate": "confirm"}}]
    )
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    with pytest.raises(Conflict, match="not a running timer"):
        execution_skip_timer(execution=execution, user=cast.runner, key="gate")


# --- the real scheduler, across a worker restart -----------------------------------------------

SETUP = """
from django.contrib.auth import get_user_model
from apps.environments.models import ExecutionEnvironment
from apps.executions.services.start import execution_start
from apps.runbooks.services.runbooks import runbook_create
from apps.runbooks.versions import runbook_publish

owner = get_user_model().objects.create_user(username="timer-test", password="timer-test-password")
environment = ExecutionEnvironment.objects.create(name="timer-test", image="runbooks-test-busybox:latest", is_default=True)
runbook = runbook_create(
    user=owner, title="Timer test", environment=environment.pk,
    blocks=[
        {"key": "pause", "kind": "timer", "config": {"seconds": 2}},
        {"key": "after", "kind": "instruction", "config": {"markdown": "done", "gate": "none"}},
    ],
)
runbook_publish(runbook=runbook, user=owner, message="v1")
print("EXECUTION", execution_start(runbook=runbook, user=owner).pk)
"""


@pytest.mark.django_db(transaction=True)
def test_a_timer_survives_the_worker_that_started_it(tmp_path):
    # The test's own Redis and this pytest worker's own queues (settings.test names them per xdist
    # worker; the subprocesses inherit PYTEST_XDIST_WORKER, so they use the same names). It once
    # shared Redis db 13 and the queue "executions" with the concurrency tests, which flush that
    # database around every test and run workers on that queue: under -n 2 they wiped this test's
    # scheduled continuation or their worker took its jobs.
    queues = [executions_queue(), default_queue()]
    for queue in queues:
        queue.empty()  # jobs earlier tests of this process left behind: no worker of theirs came
        unschedule_all(queue)
    database = Database(tmp_path)
    env = _environment(database, settings.REDIS_URL)
    if database.vendor != "postgresql":
        _manage("migrate", "--no-input", env=env, timeout=300)
    execution_id = int(_manage("shell", "-c", SETUP, env=env).split("EXECUTION", 1)[1].strip())

    # A first worker runs the job up to the timer and exits: nothing is left holding the run.
    _manage("worker", "--burst", "--redis-wait", "5", env=env, timeout=120)
    row = database.row("executions_execution", "id = ?", (execution_id,))
    assert row["status"] == "waiting"
    pause = database.row("executions_steprun", "execution_id = ? AND block_key = ?", (execution_id, "pause"))
    assert executions_queue().scheduled_job_registry.get_job_ids() == [timer_job_id(execution_id, pause["id"])]

    # A later worker's scheduler picks the continuation up from Redis.
    worker = _start_worker(env, f"timer-test-{uuid.uuid4().hex[:8]}", tmp_path / "worker.log")
    try:
        finished = _wait_for(
            lambda: (
                (row := database.row("executions_execution", "id = ?", (execution_id,)))
                and row["status"] == "succeeded"
                and row
            ),
            60,
            "the run to finish after its timer",
        )
        assert finished["status"] == "succeeded"
        after = database.row("executions_steprun", "execution_id = ? AND block_key = ?", (execution_id, "after"))
        assert after["status"] == "succeeded"
    finally:
        os.kill(worker.pid, signal.SIGTERM)
        worker.wait(timeout=20)
        for queue in queues:
            queue.empty()
            unschedule_all(queue)
