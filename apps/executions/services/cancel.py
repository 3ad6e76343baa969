"""Cancelling a run: queued and waiting runs stop at once; a running one is killed by its worker
(the engine's walk watches cancel_requested_at)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core.errors import Conflict
from apps.executions.models import Execution, ExecutionStatus, StepStatus
from apps.executions.output import publish_state
from apps.runbooks.roles import RUN


def execution_cancel(*, execution: Execution, user) -> None:
    """Ask a run to stop. Queued or waiting runs stop at once; a running one is killed by its worker."""
    if not user.has_perm(RUN, execution.runbook):
        raise PermissionDenied("Your role on this runbook does not allow cancelling runs.")
    now = timezone.now()
    with transaction.atomic():
        locked = Execution.objects.select_for_update().get(pk=execution.pk)
        if locked.is_final:
            raise Conflict(f"This execution already finished ({locked.get_status_display().lower()}).")
        if locked.cancel_requested_at is not None:
            raise Conflict("A cancel was already requested for this execution.")
        locked.cancel_requested_at = now
        locked.cancelled_by = user
        fields = ["cancel_requested_at", "cancelled_by"]
        stopped_at_once = locked.status in (ExecutionStatus.QUEUED, ExecutionStatus.WAITING)
        if stopped_at_once:
            locked.status = ExecutionStatus.CANCELLED
            locked.finished_at = now
            locked.lease_expires_at = None
            fields += ["status", "finished_at", "lease_expires_at"]
            locked.steps.filter(status__in=[StepStatus.PENDING, StepStatus.WAITING]).update(
                status=StepStatus.CANCELLED, finished_at=now
            )
        locked.save(update_fields=fields)
        audit_record(
            actor=user, action="execution.cancel", obj=locked, detail={"status_when_cancelled": execution.status}
        )
        if stopped_at_once:
            audit_record(actor=user, action="execution.finish", obj=locked, detail={"status": locked.status})
    for name in fields:
        setattr(execution, name, getattr(locked, name))
    if stopped_at_once:
        publish_state(execution.pk)
