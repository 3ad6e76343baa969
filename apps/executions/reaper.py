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

import redis
from django.db import close_old_connections, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.audit.services import audit_record
from apps.executions.models import FINAL_EXECUTION_STATUSES, Execution, ExecutionStatus, StepRun, StepStatus
from apps.executions.output import publish_state
from apps.sandbox.sweep import containers_sweep

logger = logging.getLogger(__name__)

REAP_INTERVAL_SECONDS = 15
# A run is enqueued right after its row is committed: one this young without a job is not lost yet.
QUEUED_GRACE_SECONDS = 10


def lost_message(step_key: str | None) -> str:
    where = f" (lost at step {step_key})" if step_key else ""
    return f"The worker running this execution stopped{where}; the step was not re-run."


def execution_mark_incomplete(*, execution_id: int, reason_step: str | None = None) -> bool:
    """Mark a running run incomplete: its running step failed, pending ones skipped. False if not running."""
    now = timezone.now()
    with transaction.atomic():
        execution = Execution.objects.select_for_update().filter(pk=execution_id).first()
        if execution is None or execution.status != ExecutionStatus.RUNNING:
            return False
        running = StepRun.objects.filter(execution=execution, status=StepStatus.RUNNING).order_by("position").first()
        step_key = running.block_key if running else reason_step
        message = lost_message(step_key)
        StepRun.objects.filter(execution=execution, status=StepStatus.RUNNING).update(
            status=StepStatus.FAILED, error=message, finished_at=now
        )
        StepRun.objects.filter(execution=execution, status__in=[StepStatus.PENDING, StepStatus.WAITING]).update(
            status=StepStatus.SKIPPED, finished_at=now
        )
        execution.status = ExecutionStatus.INCOMPLETE
        execution.error = message
        execution.finished_at = now
        execution.lease_expires_at = None
        execution.save(update_fields=["status", "error", "finished_at", "lease_expires_at"])
        audit_record(
            actor="reaper",
            action="execution.finish",
            obj=execution,
            detail={"status": ExecutionStatus.INCOMPLETE, "error": message, "worker": execution.worker_name},
        )
    publish_state(execution_id)
    return True


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


def _live_job(queue, job_id: str) -> bool | None:
    """True if the job will still reach (or is in) a worker; None when Redis cannot be asked."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    from apps.executions.slots import LIVE_JOB_STATES

    try:
        status = Job.fetch(job_id, connection=queue.connection).get_status(refresh=False)
        return getattr(status, "value", status) in LIVE_JOB_STATES
    except NoSuchJobError:
        return False
    except redis.RedisError:
        return None


def _timer_until(step: StepRun):
    wait = (step.result or {}).get("wait") or {}
    if wait.get("reason") != "timer" or not wait.get("until"):
        return None
    return parse_datetime(wait["until"])


def recover_vanished_jobs(now=None) -> dict[str, list[int]]:
    """Re-create from the database what Redis lost:

    - queued runs without a job (lost, or deferred while their runbook was full) get one, as many
      per runbook as it has free slots: they never started, so nothing runs twice;
    - a waiting timer whose scheduled continuation is gone is scheduled again at its due time (at
      once when overdue);
    - a waiting run with nothing left to wait for (its gate decided, its timer skipped) whose
      resume was lost is resumed.
    A run or resume job twice is harmless: the claim lets one through, and a step found running is
    never re-run (apps.executions.engine).
    """
    from apps.executions.engine import timer_due
    from apps.executions.gates import timer_job_id
    from apps.executions.jobs import resume_execution
    from apps.executions.services import executions_queue
    from apps.executions.slots import queued_ensure_jobs

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
    queue = executions_queue()
    waiting = Execution.objects.filter(status=ExecutionStatus.WAITING, cancel_requested_at__isnull=True)
    for execution_id in list(waiting.values_list("pk", flat=True)):
        steps = list(StepRun.objects.filter(execution_id=execution_id, status=StepStatus.WAITING))
        if not steps:
            queue.enqueue(resume_execution, execution_id, job_timeout=-1)
            recovered["resumed"].append(execution_id)
            continue
        for step in steps:
            until = _timer_until(step)
            job_id = timer_job_id(execution_id, step.pk)
            if until is None or _live_job(queue, job_id) is not False:
                continue
            if until <= now:
                queue.enqueue(resume_execution, execution_id, job_id=job_id, job_timeout=-1)
            else:
                queue.enqueue_at(timer_due(until), resume_execution, execution_id, job_id=job_id, job_timeout=-1)
            recovered["timers"].append(execution_id)
    return recovered


def reap_expired(now=None) -> list[int]:
    """Runs whose lease expired become incomplete (their ids are returned) and free their slots;
    jobs Redis lost are re-created (recover_vanished_jobs); leftover containers are removed."""
    from apps.executions.slots import slots_release

    now = now or timezone.now()
    expired = list(
        Execution.objects.filter(status=ExecutionStatus.RUNNING, lease_expires_at__lt=now).values_list("pk", flat=True)
    )
    reaped = [execution_id for execution_id in expired if execution_mark_incomplete(execution_id=execution_id)]
    for execution_id in reaped:
        slots_release(execution_id=execution_id)
    try:
        recovered = recover_vanished_jobs(now)
    except redis.RedisError as error:
        logger.warning("Reaper cannot reach Redis (%s); lost jobs are re-created on a later pass", type(error).__name__)
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
