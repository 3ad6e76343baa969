"""What happens to a run besides its walk: a run whose worker died ends `incomplete`.

Called by the engine (a step found running when a run is claimed ran under a dead worker) and by
the reaper (a lease that expired). The step that was running is failed, never re-run: it may have
had side effects.
"""

from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.executions.models import Execution, ExecutionStatus, StepRun, StepStatus
from apps.executions.output import publish_state


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
