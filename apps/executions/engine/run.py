"""The engine's entry points (called by apps.executions.jobs): claim a run, hold its lease while it
is walked, and hand its slot on afterwards."""

from apps.executions.engine.lease import LEASE_SECONDS, Heartbeat, lease_until, worker_name
from apps.executions.engine.walk import walk
from apps.executions.events import execution_event_send
from apps.executions.models import Execution, ExecutionStatus
from apps.executions.output import publish_state
from apps.executions.slots import CLAIMED, execution_claim, slots_release
from apps.sandbox.containers import wait_for_removals


def execution_run(*, execution_id: int) -> None:
    """Claim a queued run and walk it. A run already claimed, cancelled or finished is left alone."""
    name = worker_name()
    # A runbook whose slots are all taken leaves the run queued; a freed slot enqueues it again.
    if execution_claim(execution_id=execution_id, worker=name, lease_seconds=LEASE_SECONDS) == CLAIMED:
        execution_event_send(execution_id=execution_id, event="started")
        _walk_claimed(execution_id, name)


def execution_resume(*, execution_id: int) -> None:
    """Continue a waiting run from next_position (after a gate, a timer or a skip)."""
    name = worker_name()
    claimed = Execution.objects.filter(
        pk=execution_id, status=ExecutionStatus.WAITING, cancel_requested_at__isnull=True
    ).update(status=ExecutionStatus.RUNNING, worker_name=name, lease_expires_at=lease_until())
    if claimed:
        _walk_claimed(execution_id, name)


def _walk_claimed(execution_id: int, name: str) -> None:
    publish_state(execution_id)
    heartbeat = Heartbeat(execution_id, name)
    heartbeat.start()
    try:
        walk(Execution.objects.select_related("triggered_by").get(pk=execution_id))
    finally:
        heartbeat.stop()
        # The run's state is recorded; its containers must be gone before the job ends.
        wait_for_removals()
        # Whatever the walk left the run as (finished, waiting, lost), its slot is free now.
        slots_release(execution_id=execution_id)
