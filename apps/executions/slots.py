"""Fair queueing: at most RUNBOOKS_MAX_RUNNING_PER_RUNBOOK runs of one runbook run together.

A worker that dequeues a run whose runbook has no free slot leaves it `queued` and lets the job
end (nothing of the run happened): the run is enqueued again when a slot of its runbook frees up
(the finishing walk calls slots_release) or, as the safety net, by the reaper (queued_ensure_jobs).
So fifty runs of one runbook take their two slots and wait in the database, while another
runbook's single run, behind them in Redis, starts at once.

The claim is one conditional UPDATE (status still queued, not cancelled, fewer than the cap
running) under a lock of the runbook row: on PostgreSQL the lock serialises the claims of one
runbook, so each sees the ones committed before it (READ COMMITTED takes a fresh snapshot per
statement); SQLite has no row locks but runs one writer at a time (BEGIN IMMEDIATE), which does
the same.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, IntegerField, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.executions.models import Execution, ExecutionStatus
from apps.executions.queue import QueueUnavailable, enqueue_run, job_is_live, run_job_id
from apps.runbooks.models import Runbook

logger = logging.getLogger(__name__)

CLAIMED, FULL, GONE = "claimed", "full", "gone"


def max_running_per_runbook() -> int:
    return max(1, int(getattr(settings, "RUNBOOKS_MAX_RUNNING_PER_RUNBOOK", 2)))


def _running_of(runbook_id: int):
    return Coalesce(
        Subquery(
            Execution.objects.filter(runbook_id=runbook_id, status=ExecutionStatus.RUNNING)
            .order_by()
            .values("runbook_id")
            .annotate(count=Count("pk"))
            .values("count")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def execution_claim(*, execution_id: int, worker: str, lease_seconds: int) -> str:
    """Queued → running for `worker` if its runbook has a free slot: CLAIMED, FULL (left queued),
    or GONE (started, cancelled or finished elsewhere: nothing to do)."""
    runbook_id = Execution.objects.filter(pk=execution_id).values_list("runbook_id", flat=True).first()
    if runbook_id is None:
        return GONE
    now = timezone.now()
    with transaction.atomic():
        if connection.features.has_select_for_update:
            list(Runbook.objects.select_for_update().filter(pk=runbook_id).values_list("pk", flat=True))
        claimed = (
            Execution.objects.filter(pk=execution_id, status=ExecutionStatus.QUEUED, cancel_requested_at__isnull=True)
            .alias(running=_running_of(runbook_id))
            .filter(running__lt=max_running_per_runbook())
            .update(
                status=ExecutionStatus.RUNNING,
                started_at=now,
                worker_name=worker,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
            )
        )
    if claimed:
        return CLAIMED
    still_queued = Execution.objects.filter(
        pk=execution_id, status=ExecutionStatus.QUEUED, cancel_requested_at__isnull=True
    ).exists()
    return FULL if still_queued else GONE


def queued_ensure_jobs(*, runbook_id: int, grace_seconds: float = 0) -> list[int]:
    """Give the oldest queued runs of the runbook that fit in its free slots a job in Redis, if
    theirs vanished (deferred for a full runbook, or lost: a restart, a flush, an eviction).
    Runs created less than `grace_seconds` ago are left to the request that is enqueueing them.
    Returns the ids enqueued. Never enqueues more than the free slots: a full runbook's waiting
    runs are not polled."""
    running = Execution.objects.filter(runbook_id=runbook_id, status=ExecutionStatus.RUNNING).count()
    free = max_running_per_runbook() - running
    if free <= 0:
        return []
    waiting = list(
        Execution.objects.filter(runbook_id=runbook_id, status=ExecutionStatus.QUEUED, cancel_requested_at__isnull=True)
        .order_by("created_at", "pk")
        .values_list("pk", "created_at")[:free]
    )
    enqueued = []
    young = timezone.now() - timedelta(seconds=grace_seconds)
    for execution_id, created_at in waiting:
        try:
            if created_at > young or job_is_live(run_job_id(execution_id)):
                continue
            enqueue_run(execution_id)
        except QueueUnavailable:
            logger.warning("Could not enqueue queued execution %s", execution_id, exc_info=True)
            return enqueued
        enqueued.append(execution_id)
    return enqueued


def slots_release(*, execution_id: int) -> None:
    """After a walk let go of its run (finished, waiting, lost): start the next waiting run of the
    runbook, if one waits for this slot. Never raises: the reaper catches up on what this misses."""
    try:
        runbook_id = Execution.objects.filter(pk=execution_id).values_list("runbook_id", flat=True).first()
        if runbook_id is not None:
            queued_ensure_jobs(runbook_id=runbook_id)
    except Exception:
        logger.warning("Could not hand the slot of execution %s on", execution_id, exc_info=True)
