"""Crash safety: runs whose worker died become `incomplete`, and their containers are removed.

Every worker runs reap_expired() every REAP_INTERVAL_SECONDS in a daemon thread (and once at
start), so a worker killed with SIGKILL is cleaned up by any other worker or by the next one to
start. The step that was running is marked failed and is never re-run: it may have had side effects.
"""

import logging
import threading
from datetime import timedelta

import redis
from django.db import close_old_connections, transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.executions.models import FINAL_EXECUTION_STATUSES, Execution, ExecutionStatus, StepRun, StepStatus
from apps.executions.output import publish_state

logger = logging.getLogger(__name__)

REAP_INTERVAL_SECONDS = 15
# A queued run normally starts within a second; after this long without a job behind it, it never will.
QUEUED_GRACE_SECONDS = 120
LOST_IN_QUEUE = (
    "The queued run was lost before any worker started it (Redis was restarted or flushed, or the job "
    "failed to load); nothing ran. Start it again."
)
EXECUTION_LABEL = "runbooks.execution"


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
    and the warm spares nobody will use (apps.executions.warm)."""
    from apps.executions.docker_runner import DockerUnavailable, labelled_containers, remove_container, shared_client
    from apps.executions.warm import reap_warm_containers

    try:
        containers = labelled_containers(EXECUTION_LABEL)
    except DockerUnavailable as error:
        logger.warning("Reaper cannot reach Docker: %s", error)
        return []
    removed_warm = []
    if execution_ids is None:
        try:
            removed_warm = reap_warm_containers(shared_client())
        except Exception:
            logger.warning("Reaper could not check warm containers", exc_info=True)
    by_execution: dict[int, list] = {}
    for container in containers:
        try:
            by_execution.setdefault(int(container.labels.get(EXECUTION_LABEL, "")), []).append(container)
        except ValueError:
            continue
    if execution_ids is None:
        finished = set(
            Execution.objects.filter(pk__in=list(by_execution), status__in=FINAL_EXECUTION_STATUSES).values_list(
                "pk", flat=True
            )
        )
        known = set(Execution.objects.filter(pk__in=list(by_execution)).values_list("pk", flat=True))
        # Containers of runs that no longer exist (a deleted phantom) are orphans too.
        execution_ids = finished | (set(by_execution) - known)
    removed = list(removed_warm)
    for execution_id in execution_ids:
        for container in by_execution.get(execution_id, []):
            remove_container(container)
            removed.append(container.id)
    return removed


def _job_is_gone(execution_id: int) -> bool:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    from apps.executions.services import executions_queue

    try:
        job = Job.fetch(f"execution-{execution_id}", connection=executions_queue().connection)
    except NoSuchJobError:
        return True
    except redis.RedisError:
        return False  # Redis down: nothing can be told, and nothing could have started either
    return job.get_status(refresh=False) in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def execution_mark_lost_in_queue(*, execution_id: int) -> bool:
    """A queued run whose job vanished: nothing ran, so every step is skipped. False if it started."""
    now = timezone.now()
    with transaction.atomic():
        execution = Execution.objects.select_for_update().filter(pk=execution_id).first()
        if execution is None or execution.status != ExecutionStatus.QUEUED:
            return False
        StepRun.objects.filter(execution=execution, status=StepStatus.PENDING).update(
            status=StepStatus.SKIPPED, finished_at=now
        )
        execution.status, execution.error, execution.finished_at = ExecutionStatus.INCOMPLETE, LOST_IN_QUEUE, now
        execution.save(update_fields=["status", "error", "finished_at"])
        audit_record(
            actor="reaper", action="execution.finish", obj=execution,
            detail={"status": ExecutionStatus.INCOMPLETE, "error": LOST_IN_QUEUE},
        )  # fmt: skip
    publish_state(execution_id)
    return True


def reap_expired(now=None) -> list[int]:
    """Runs whose lease expired, or whose queued job is gone, become incomplete; their and finished
    runs' containers are removed."""
    now = now or timezone.now()
    expired = list(
        Execution.objects.filter(status=ExecutionStatus.RUNNING, lease_expires_at__lt=now).values_list("pk", flat=True)
    )
    reaped = [execution_id for execution_id in expired if execution_mark_incomplete(execution_id=execution_id)]
    stale_queued = Execution.objects.filter(
        status=ExecutionStatus.QUEUED, created_at__lt=now - timedelta(seconds=QUEUED_GRACE_SECONDS)
    ).values_list("pk", flat=True)
    for execution_id in list(stale_queued):
        if _job_is_gone(execution_id) and execution_mark_lost_in_queue(execution_id=execution_id):
            reaped.append(execution_id)
    # After marking: a finished run's containers are all leftovers, whoever started them.
    _remove_containers(execution_ids=None)
    return reaped


def reaper_loop(stop: threading.Event, interval: float = REAP_INTERVAL_SECONDS) -> None:
    """The worker's reaper thread: reap now, then every `interval` seconds until `stop` is set."""
    while True:
        try:
            reaped = reap_expired()
            if reaped:
                logger.warning("Marked executions %s incomplete: their worker stopped", reaped)
            _maintain_warm_pool()
        except Exception:
            logger.exception("Reaper pass failed; retrying in %s s", interval)
        finally:
            close_old_connections()
        if stop.wait(interval):
            return


def _maintain_warm_pool() -> None:
    from apps.executions.docker_runner import DockerUnavailable, shared_client
    from apps.executions.warm import pool

    try:
        pool.maintain(shared_client())
    except DockerUnavailable:
        pool.maintain()


def reaper_start(interval: float = REAP_INTERVAL_SECONDS) -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=reaper_loop, args=(stop, interval), name="reaper", daemon=True).start()
    return stop
