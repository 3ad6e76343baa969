"""Crash safety and recovery: the database is the source of truth for what is running, queued or due.

One reaper runs per worker command (a process of its own beside the worker processes, see
apps.executions.management.commands.worker): reap_expired() every REAP_INTERVAL_SECONDS, and once at
start, so a worker killed with SIGKILL is cleaned up by any other worker or by the next one to
start. A run whose lease expired becomes `incomplete`; the step that was running is marked failed
and is never re-run: it may have had side effects. What Redis lost (a restart without
persistence, a flush, an eviction) is re-created from the database: queued runs are enqueued
again (they never started) and waiting timers are scheduled again at their due time.
"""

import logging
import threading

from django.db import close_old_connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.executions.models import FINAL_EXECUTION_STATUSES, Execution, ExecutionStatus, StepRun, StepStatus
from apps.executions.queue import QueueUnavailable, enqueue_resume, job_is_live, schedule_timer, timer_job_id
from apps.executions.services.lifecycle import execution_mark_incomplete
from apps.executions.slots import queued_ensure_jobs, slots_release
from apps.sandbox.sweep import containers_sweep

logger = logging.getLogger(__name__)

REAP_INTERVAL_SECONDS = 15
# A run is enqueued right after its row is committed: one this young without a job is not lost yet.
QUEUED_GRACE_SECONDS = 10


def _remove_containers(*, execution_ids: set[int] | None) -> list[str]:
    """Kill and remove containers of the given executions; with None, those of finished executions
    and the warm spares nobody will use (apps.sandbox.sweep). The database answers the sweep's questions."""

    def runs_over(found: set[int]) -> set[int]:
        finished = set(
            Execution.objects.filter(pk__in=list(found), status__in=FINAL_EXECUTION_STATUSES).values_list(
                "pk", flat=True
            )
        )
        known = set(Execution.objects.filter(pk__in=list(found)).values_list("pk", flat=True))
        # Containers of runs that no longer exist (a deleted phantom) are orphans too.
        return finished | (found - known)

    def steps_running(container_ids: list[str]) -> dict[str, bool]:
        steps = StepRun.objects.filter(container_id__in=container_ids).values_list("container_id", "status")
        return {container_id: status == StepStatus.RUNNING for container_id, status in steps}

    return containers_sweep(execution_ids=execution_ids, runs_over=runs_over, steps_running=steps_running)


def _timer_until(step: StepRun):
    wait = (step.result or {}).get("wait") or {}
    if wait.get("reason") != "timer" or not wait.get("until"):
        return None
    return parse_datetime(wait["until"])


def _timer_recovered(execution_id: int, step: StepRun, now) -> bool:
    """Schedule a waiting timer's continuation again if Redis lost it (at once when overdue)."""
    until = _timer_until(step)
    if until is None:
        return False
    try:
        if job_is_live(timer_job_id(execution_id, step.pk)):
            return False
    except QueueUnavailable:
        return False  # Redis cannot be asked: a later pass looks again
    if until <= now:
        enqueue_resume(execution_id, job_id=timer_job_id(execution_id, step.pk))
    else:
        schedule_timer(execution_id, step.pk, until)
    return True


def recover_vanished_jobs(now=None) -> dict[str, list[int]]:
    """Re-create from the database what Redis lost:

    - queued runs without a job (lost, or deferred while their runbook was full) get one, as many
      per runbook as it has free slots: they never started, so nothing runs twice;
    - a waiting timer whose scheduled continuation is gone is scheduled again at its due time (at
      once when overdue);
    - a waiting run with nothing left to wait for (its gate decided, its timer skipped) whose
      resume was lost is resumed.
    A run or resume job twice is harmless: the claim lets one through, and a step found running is
    never re-run (apps.executions.engine.walk).
    """
    now = now or timezone.now()
    recovered: dict[str, list[int]] = {"requeued": [], "timers": [], "resumed": []}
    runbooks = (
        Execution.objects.filter(status=ExecutionStatus.QUEUED, cancel_requested_at__isnull=True)
        .order_by()
        .values_list("runbook_id", flat=True)
        .distinct()
    )
    for runbook_id in list(runbooks):
        recovered["requeued"] += queued_ensure_jobs(runbook_id=runbook_id, grace_seconds=QUEUED_GRACE_SECONDS)
    waiting = Execution.objects.filter(status=ExecutionStatus.WAITING, cancel_requested_at__isnull=True)
    for execution_id in list(waiting.values_list("pk", flat=True)):
        steps = list(StepRun.objects.filter(execution_id=execution_id, status=StepStatus.WAITING))
        if not steps:
            enqueue_resume(execution_id)
            recovered["resumed"].append(execution_id)
            continue
        for step in steps:
            if _timer_recovered(execution_id, step, now):
                recovered["timers"].append(execution_id)
    return recovered


def reap_expired(now=None) -> list[int]:
    """Runs whose lease expired become incomplete (their ids are returned) and free their slots;
    jobs Redis lost are re-created (recover_vanished_jobs); leftover containers are removed."""
    now = now or timezone.now()
    expired = list(
        Execution.objects.filter(status=ExecutionStatus.RUNNING, lease_expires_at__lt=now).values_list("pk", flat=True)
    )
    reaped = [execution_id for execution_id in expired if execution_mark_incomplete(execution_id=execution_id)]
    for execution_id in reaped:
        slots_release(execution_id=execution_id)
    try:
        recovered = recover_vanished_jobs(now)
    except QueueUnavailable as error:
        logger.warning("Reaper cannot reach Redis (%s); lost jobs are re-created on a later pass", error)
    else:
        if any(recovered.values()):
            logger.warning("Re-created jobs Redis had lost: %s", recovered)
    # After marking: a finished run's containers are all leftovers, whoever started them.
    _remove_containers(execution_ids=None)
    return reaped


def reaper_loop(stop: threading.Event, interval: float = REAP_INTERVAL_SECONDS) -> None:
    """The reaper: reap now, then every `interval` seconds until `stop` is set."""
    while True:
        try:
            reaped = reap_expired()
            if reaped:
                logger.warning("Marked executions %s incomplete: their worker stopped", reaped)
        except Exception:
            logger.exception("Reaper pass failed; retrying in %s s", interval)
        finally:
            close_old_connections()
        if stop.wait(interval):
            return


def reaper_start(interval: float = REAP_INTERVAL_SECONDS) -> threading.Event:
    """The reaper in a thread of this process (tests, a single in-process worker); set the event to stop it."""
    stop = threading.Event()
    threading.Thread(target=reaper_loop, args=(stop, interval), name="reaper", daemon=True).start()
    return stop
