"""Decisions people take on a waiting run: pass or reject a gate, skip a timer.

Each locks the execution row first (select_for_update), the same row execution_cancel locks, so a
decision, a second decision and a cancel are serialised: only one of them finds the step waiting.
The waiting run holds no worker; a decision that lets it go on enqueues its resume after the
commit, and the engine's resume is a no-op unless the run is still waiting.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core.errors import Conflict, InvalidInput
from apps.executions.models import Execution, ExecutionStatus, StepRun, StepStatus
from apps.executions.output import publish_state
from apps.executions.queue import QueueUnavailable, enqueue_resume, queue_ping, unschedule_timer
from apps.executions.rules import DECISIONS, GATES, gate_of, may_approve, require_run, why_not_approver

logger = logging.getLogger(__name__)

AUDIT_ACTIONS = {"continue": "execution.confirm", "approve": "execution.approve", "reject": "execution.reject"}


def _enqueue_resume(execution_id: int) -> None:
    def enqueue() -> None:
        try:
            enqueue_resume(execution_id)
        except QueueUnavailable:
            # Redis answered a moment ago; the run stays waiting with its step decided, and the
            # next resume (a retry of the decision is refused, but a cancel still works) is logged.
            logger.exception("Could not queue the resume of execution %s", execution_id)

    transaction.on_commit(enqueue)


def _publish(execution_id: int) -> None:
    transaction.on_commit(lambda: publish_state(execution_id))


def _lock_waiting_step(execution: Execution, key: str) -> tuple[Execution, StepRun]:
    # No select_related: PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
    locked = Execution.objects.select_for_update().get(pk=execution.pk)
    step = StepRun.objects.select_for_update().filter(execution=locked, block_key=key).first()
    if step is None:
        raise InvalidInput({"key": [f"This run has no step “{key}”."]})
    if locked.is_final:
        raise Conflict(f"This run already finished ({locked.get_status_display().lower()}).")
    if step.status != StepStatus.WAITING or locked.status != ExecutionStatus.WAITING:
        raise Conflict(f"Step “{key}” is not waiting (it is {step.get_status_display().lower()}).")
    return locked, step


def execution_confirm(*, execution: Execution, user, key: str, decision: str | None = None) -> StepRun:
    """Pass (continue / approve) or reject a waiting gate; a rejected gate ends the run failed."""
    require_run(user, execution)
    queue_ping()
    now = timezone.now()
    with transaction.atomic():
        locked, step = _lock_waiting_step(execution, key)
        gate = gate_of(step)
        if gate not in GATES:
            raise Conflict(f"Step “{key}” is not waiting for a decision; it is a {gate or step.kind}.")
        allowed = DECISIONS[gate]
        decision = decision or allowed[0]
        if decision not in allowed:
            raise InvalidInput(
                {"decision": [f"A {gate} gate takes one of: {', '.join(allowed)} (got “{str(decision)[:40]}”)."]}
            )
        if gate == "approval" and decision == "approve" and not may_approve(user, locked):
            raise PermissionDenied(f"{why_not_approver(user, locked)}: a runner other than you must approve.")
        username = user.get_username()
        record = {"gate": gate, "decision": decision, "by": username, "at": now.isoformat()}
        step.result = {**{k: v for k, v in (step.result or {}).items() if k != "wait"}, **record}
        step.confirmed_by = user
        step.confirmed_at = now
        step.finished_at = now
        if decision == "reject":
            step.status = StepStatus.FAILED
            step.error = f"Rejected by {username}."
        else:
            step.status = StepStatus.SUCCEEDED
        step.save(update_fields=["result", "confirmed_by", "confirmed_at", "finished_at", "status", "error"])
        audit_record(
            actor=user,
            action=AUDIT_ACTIONS[decision],
            obj=locked,
            detail={"step": key, "gate": gate, "decision": decision},
        )
        if decision == "reject":
            locked.steps.filter(status=StepStatus.PENDING).update(status=StepStatus.SKIPPED, finished_at=now)
            locked.status = ExecutionStatus.FAILED
            locked.finished_at = now
            locked.lease_expires_at = None
            locked.error = f"Step {key} was rejected by {username}."
            locked.save(update_fields=["status", "finished_at", "lease_expires_at", "error"])
            audit_record(
                actor=user,
                action="execution.finish",
                obj=locked,
                detail={"status": locked.status, "error": locked.error},
            )
        else:
            _enqueue_resume(locked.pk)
        _publish(locked.pk)
    return step


def execution_skip_timer(*, execution: Execution, user, key: str) -> StepRun:
    """End a waiting timer now: the step succeeds (result.skipped) and the run goes on."""
    require_run(user, execution)
    queue_ping()
    now = timezone.now()
    with transaction.atomic():
        locked, step = _lock_waiting_step(execution, key)
        if gate_of(step) != "timer":
            raise Conflict(f"Step “{key}” is not a running timer.")
        username = user.get_username()
        step.result = {**(step.result or {}), "skipped": True, "skipped_by": username, "skipped_at": now.isoformat()}
        step.status = StepStatus.SUCCEEDED
        step.finished_at = now
        step.confirmed_by = user
        step.confirmed_at = now
        step.save(update_fields=["result", "status", "finished_at", "confirmed_by", "confirmed_at"])
        audit_record(actor=user, action="execution.timer_skip", obj=locked, detail={"step": key})
        _enqueue_resume(locked.pk)
        _publish(locked.pk)
        step_run_id = step.pk
        transaction.on_commit(lambda: _unschedule(locked.pk, step_run_id))
    return step


def _unschedule(execution_id: int, step_run_id: int) -> None:
    # Tidiness only: the scheduled resume would find the run no longer waiting on this step and do
    # nothing (the engine's resume is idempotent), so a failure here is harmless.
    try:
        unschedule_timer(execution_id, step_run_id)
    except Exception:
        logger.warning("Could not unschedule the timer of step run %s", step_run_id, exc_info=True)
