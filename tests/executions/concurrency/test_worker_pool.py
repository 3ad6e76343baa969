"""`manage.py worker --concurrency N` for real: runs overlap, the per-runbook cap holds, cancel and
SIGKILL touch only what they should, and a flushed Redis loses nothing the database knows.

Every test starts the real worker command as a subprocess on the test database and a Redis
database of its own (conftest.py); the real Docker engine runs the steps.
"""

import signal
from datetime import timedelta
from itertools import combinations

import pytest
import redis
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.executions.models import Execution, OutputChunk, StepRun
from apps.executions.selectors import execution_queue_position
from apps.executions.services.cancel import execution_cancel
from apps.executions.services.lifecycle import lost_message
from apps.executions.services.start import execution_start
from tests.executions.concurrency.conftest import (
    WORKER_REDIS_URL,
    containers_of,
    running_with_output,
    statuses,
    wait_for,
)
from tests.support.executions import command

pytestmark = pytest.mark.django_db(transaction=True)


def _runbooks(cast, make_runbook, count: int, blocks) -> list:
    return [make_runbook(cast.owner, blocks, title=f"Concurrency {index}") for index in range(count)]


def _finished(executions, timeout: float) -> list[Execution]:
    wait_for(
        lambda: all(status in ("succeeded", "failed", "cancelled", "incomplete") for status in statuses(executions)),
        timeout,
        "every run to finish",
    )
    return [Execution.objects.get(pk=execution.pk) for execution in executions]


def test_four_runs_overlap_in_time_with_concurrency_four(cast, make_runbook, start_worker):
    runbooks = _runbooks(cast, make_runbook, 4, [command("nap", "sleep 4; echo done")])
    executions = [execution_start(runbook=runbook, user=cast.runner) for runbook in runbooks]
    start_worker(4)
    finished = _finished(executions, 90)
    assert [execution.status for execution in finished] == ["succeeded"] * 4, [e.error for e in finished]
    # Every pair of runs was running at the same moment: their intervals intersect.
    for first, second in combinations(finished, 2):
        assert first.started_at < second.finished_at and second.started_at < first.finished_at
    assert max(e.started_at for e in finished) < min(e.finished_at for e in finished)


def test_no_more_than_the_cap_of_one_runbook_run_together_and_another_runbook_is_not_starved(
    cast, make_runbook, start_worker
):
    busy = make_runbook(cast.owner, [command("nap", "sleep 3")], title="Started many times")
    other = make_runbook(cast.owner, [command("quick", "echo other")], title="Started once")
    many = [execution_start(runbook=busy, user=cast.runner) for _ in range(5)]
    single = execution_start(runbook=other, user=cast.runner)  # queued behind all five
    start_worker(4)  # RUNBOOKS_MAX_RUNNING_PER_RUNBOOK is 2 by default

    def two_running_and_the_rest_waiting_visibly():
        running = [e for e in Execution.objects.filter(runbook=busy) if e.status == "running"]
        waiting = list(Execution.objects.filter(runbook=busy, status="queued").order_by("created_at", "pk"))
        if len(running) != 2 or not waiting:
            return None
        return execution_queue_position(waiting[0])

    position = wait_for(two_running_and_the_rest_waiting_visibly, 60, "two runs of the busy runbook to run")
    assert position["runbook_full"] is True and position["max_running"] == 2

    finished = _finished([*many, single], 120)
    assert {execution.status for execution in finished} == {"succeeded"}, [e.error for e in finished]
    intervals = [(e.started_at, e.finished_at) for e in finished[:5]]
    for start, _ in intervals:
        together = sum(1 for other_start, other_end in intervals if other_start <= start < other_end)
        assert together <= 2, intervals
    # The other runbook's single run did not wait for the fifty... five runs ahead of it.
    lone = finished[5]
    assert lone.started_at < max(start for start, _ in intervals)


def test_cancelling_one_of_four_running_runs_kills_only_its_container(cast, make_runbook, start_worker, docker_engine):
    runbooks = _runbooks(cast, make_runbook, 4, [command("long", "echo started; sleep 120")])
    executions = [execution_start(runbook=runbook, user=cast.runner) for runbook in runbooks]
    start_worker(4)
    steps = wait_for(lambda: running_with_output(executions), 90, "four steps to run in containers")
    containers = [docker_engine.containers.get(step.container_id) for step in steps]
    assert len({container.id for container in containers}) == 4

    execution_cancel(execution=executions[0], user=cast.runner)
    wait_for(lambda: statuses(executions[:1]) == ["cancelled"], 15, "the cancelled run to end")
    wait_for(lambda: not containers_of(docker_engine, executions[0]), 15, "its container to be removed")
    assert statuses(executions[1:]) == ["running"] * 3
    for container in containers[1:]:
        container.reload()
        assert container.status == "running"

    for execution in executions[1:]:
        execution_cancel(execution=execution, user=cast.runner)
    assert [e.status for e in _finished(executions, 30)] == ["cancelled"] * 4


def test_sigkill_of_the_worker_process_group_leaves_every_running_run_incomplete_and_no_container(
    cast, make_runbook, start_worker, docker_engine
):
    runbooks = _runbooks(cast, make_runbook, 3, [command("long", "echo started; sleep 120"), command("next", "true")])
    executions = [execution_start(runbook=runbook, user=cast.runner) for runbook in runbooks]
    worker = start_worker(3)
    steps = wait_for(lambda: running_with_output(executions), 90, "three steps to run in containers")
    worker.kill_group(signal.SIGKILL)

    # The next worker's reaper finds the leases expired (no process renews them any more).
    start_worker(1)
    finished = _finished(executions, 90)
    assert [execution.status for execution in finished] == ["incomplete"] * 3
    for execution, step in zip(finished, steps, strict=True):
        assert execution.error == lost_message("long")
        after = StepRun.objects.get(pk=step.pk)
        # Not re-run: the same start, and "started" printed once.
        assert after.status == "failed" and after.started_at == step.started_at
        assert "".join(OutputChunk.objects.filter(step_run=step).values_list("data", flat=True)).count("started") == 1
        assert StepRun.objects.get(execution=execution, block_key="next").status == "skipped"
    wait_for(
        lambda: not any(containers_of(docker_engine, execution) for execution in executions),
        30,
        "every step container to be removed",
    )


def test_a_flushed_redis_loses_no_queued_run_and_no_timer(cast, make_runbook, start_worker, worker_queue):
    timed = make_runbook(
        cast.owner,
        [{"key": "pause", "kind": "timer", "config": {"seconds": 20}}, command("after", "echo after-the-timer")],
        title="Timer",
    )
    timer_run = execution_start(runbook=timed, user=cast.runner)
    first = start_worker(2)
    wait_for(lambda: statuses([timer_run]) == ["waiting"], 60, "the timer to start waiting")
    first.stop()

    queued_runbooks = _runbooks(cast, make_runbook, 3, [command("mark", 'echo "ran-$RB_EXECUTION_ID"')])
    queued = [execution_start(runbook=runbook, user=cast.runner) for runbook in queued_runbooks]
    assert len(worker_queue.get_job_ids()) == 3
    assert worker_queue.scheduled_job_registry.get_job_ids()  # the timer's continuation
    redis.Redis.from_url(WORKER_REDIS_URL).flushdb()  # a restart without persistence, for this database
    assert not worker_queue.get_job_ids() and not worker_queue.scheduled_job_registry.get_job_ids()
    # The runs have been queued a while (past the reaper's grace for a run being enqueued).
    Execution.objects.filter(pk__in=[e.pk for e in queued]).update(created_at=timezone.now() - timedelta(minutes=1))

    start_worker(2)
    # On a loaded machine the new worker may come up after the timer's due time: then it resumes at once.
    listening_at = timezone.now()
    finished = _finished(queued, 60)
    assert [execution.status for execution in finished] == ["succeeded"] * 3
    for execution in finished:
        step = execution.steps.get()
        output = "".join(OutputChunk.objects.filter(step_run=step).values_list("data", flat=True))
        assert output.count(f"ran-{execution.pk}") == 1, output

    timer_step = StepRun.objects.get(execution=timer_run, block_key="pause")

    due = parse_datetime(timer_step.result["wait"]["until"])
    (resumed,) = _finished([timer_run], 60)
    assert resumed.status == "succeeded", resumed.error
    after = StepRun.objects.get(execution=timer_run, block_key="after")
    # At its due time: not before (the timer is not cut short), and not long after.
    assert due - timedelta(seconds=1) <= after.started_at <= max(due, listening_at) + timedelta(seconds=10)
