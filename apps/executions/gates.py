"""Decisions people take on a run: pass or reject a gate, skip a timer, retry from a step.

Each locks the execution row first (select_for_update), the same row execution_cancel locks, so a
decision, a second decision and a cancel are serialised: only one of them finds the step waiting.
The waiting run holds no worker; a decision that lets it go on enqueues jobs.resume_execution
after the commit, and the engine's resume is a no-op unless the run is still waiting.
"""

import logging

import redis
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core.errors import Conflict, InvalidInput
from apps.executions.models import (
    Execution,
    ExecutionStatus,
    OutputChunk,
    StepRun,
    StepStatus,
)
from apps.executions.rules import execution_starter_ids, is_approval_gate, require_version_runnable
from apps.runbooks.roles import EDIT, RUN

logger = logging.getLogger(__name__)

GATES = ("confirm", "approval")
# Which decisions each gate accepts; the first is the default when none is given.
DECISIONS = {"confirm": ("continue", "reject"), "approval": ("approve", "reject")}
AUDIT_ACTIONS = {"continue": "execution.confirm", "approve": "execution.approve", "reject": "execution.reject"}
RETRYABLE = (
    ExecutionStatus.FAILED,
    ExecutionStatus.CANCELLED,
    ExecutionStatus.TIMED_OUT,
    ExecutionStatus.INCOMPLETE,
)


def timer_job_id(execution_id: int, step_run_id: int) -> str:
    """The scheduled resume of a timer step: a fixed id, so skipping the timer can unschedule it."""
    return f"execution-{execution_id}-timer-{step_run_id}"


def _queue():
    from apps.executions.services import executions_queue

    return executions_queue()


def _ping_redis() -> None:
    """Before anything is written: a decision whose continuation cannot be queued must not stick."""
    from apps.executions.services import _unreachable

    queue = _queue()
    try:
        queue.connection.ping()
    except redis.RedisError:
        raise _unreachable(queue) from None


def _enqueue_resume(execution_id: int) -> None:
    from apps.executions.jobs import resume_execution

    def enqueue() -> None:
        try:
            _queue().enqueue(resume_execution, execution_id, job_timeout=-1)
        except redis.RedisError:
            # Redis answered a moment ago; the run stays waiting with its step decided, and the
            # next resume (a retry of the decision is refused, but a cancel still works) is logged.
            logger.exception("Could not queue the resume of execution %s", execution_id)

    transaction.on_commit(enqueue)


def _publish(execution_id: int) -> None:
    from apps.executions.output import publish_state

    transaction.on_commit(lambda: publish_state(execution_id))


def _require_run(user, execution: Execution) -> None:
    if not user.has_perm(RUN, execution.runbook):
        raise PermissionDenied("Your role on this runbook does not allow deciding on its runs.")


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


def gate_of(step: StepRun) -> str:
    """ "confirm", "approval", "timer" or "" — what a waiting step waits for."""
    return str(((step.result or {}).get("wait") or {}).get("reason") or "")


def may_approve(user, execution: Execution) -> bool:
    """Approval takes a second person: whoever started the run (or set its trigger or schedule in motion)
    cannot approve it."""
    return user.pk not in execution_starter_ids(execution)


def why_not_approver(user, execution: Execution) -> str:
    if execution.triggered_by_id == user.pk:
        return "You started this run, so you cannot approve it"
    source = "trigger" if execution.trigger_id else "schedule"
    return f"You set this run's {source} in motion, so you cannot approve it"


def execution_confirm(*, execution: Execution, user, key: str, decision: str | None = None) -> StepRun:
    """Pass (continue / approve) or reject a waiting gate; a rejected gate ends the run failed."""
    _require_run(user, execution)
    _ping_redis()
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
    _require_run(user, execution)
    _ping_redis()
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
        job_id = timer_job_id(locked.pk, step.pk)
        transaction.on_commit(lambda: _unschedule(job_id))
    return step


def _unschedule(job_id: str) -> None:
    # Tidiness only: the scheduled resume would find the run no longer waiting on this step and do
    # nothing (the engine's resume is idempotent), so a failure here is harmless.
    try:
        _queue().scheduled_job_registry.remove(job_id, delete_job=True)
    except Exception:
        logger.warning("Could not unschedule %s", job_id, exc_info=True)


def _needs_approval_again(step: StepRun, blocks: dict[str, dict]) -> bool:
    """An approval gate of the snapshot that this step did not pass with an approval."""
    if not is_approval_gate(blocks.get(step.block_key)):
        return False
    return not (step.status == StepStatus.SUCCEEDED and (step.result or {}).get("decision") == "approve")


def execution_retry_from(*, execution: Execution, user, key: str) -> Execution:
    """A new run of the same content and params that starts at `key`; earlier results are carried."""
    _require_run(user, execution)
    if execution.draft and not user.has_perm(EDIT, execution.runbook):
        raise PermissionDenied("This run was of the draft; only editors can run the draft again.")
    if execution.status not in RETRYABLE:
        raise Conflict(
            f"Only a failed, cancelled, timed-out or incomplete run can be retried; this one is "
            f"{execution.get_status_display().lower()}."
        )
    if not execution.draft:
        require_version_runnable(execution.runbook, user, execution.version)
    steps = list(execution.steps.order_by("position"))
    start = next((step.position for step in steps if step.block_key == key), None)
    if start is None:
        raise InvalidInput({"from": [f"This run has no step “{str(key)[:64]}”."]})
    # An approval gate guards every step after it: one the earlier run did not pass (cancelled,
    # rejected, still waiting) is asked again before the retried step, never carried over.
    blocks = {block["key"]: block for block in (execution.snapshot or {}).get("blocks") or []}
    unapproved = {step.position for step in steps if step.position < start and _needs_approval_again(step, blocks)}
    start_walk = min(unapproved) if unapproved else start
    queue = _queue()
    _ping_redis()
    with transaction.atomic():
        retry = Execution.objects.create(
            runbook=execution.runbook,
            version=execution.version,
            draft=execution.draft,
            snapshot=execution.snapshot,
            environment=execution.environment,
            mode=execution.mode,
            block_key=execution.block_key,
            params=execution.params,
            triggered_by=user,
            retry_of=execution,
            next_position=start_walk,
        )
        for step in steps:
            carried = step.position < start and step.position not in unapproved
            copy = StepRun.objects.create(
                execution=retry,
                position=step.position,
                block_key=step.block_key,
                kind=step.kind,
                title=step.title,
                carried=carried,
                **(
                    {
                        "status": step.status,
                        "exit_code": step.exit_code,
                        "result": step.result,
                        "error": step.error,
                        "started_at": step.started_at,
                        "finished_at": step.finished_at,
                        "output_bytes": step.output_bytes,
                        "output_truncated": step.output_truncated,
                        "next_seq": step.next_seq,
                        "confirmed_by": step.confirmed_by,
                        "confirmed_at": step.confirmed_at,
                    }
                    if carried
                    else {}
                ),
            )
            if carried:
                # Later steps read earlier output (conditionals, RB_STEP_*_OUTPUT_FILE): carry it too.
                OutputChunk.objects.bulk_create(
                    OutputChunk(step_run=copy, seq=seq, data=data)
                    for seq, data in step.chunks.order_by("seq").values_list("seq", "data").iterator()
                )
        audit_record(
            actor=user,
            action="execution.retry",
            obj=retry,
            detail={"retry_of": execution.pk, "from": key, "runbook": execution.runbook_id},
        )
    try:
        from apps.executions.jobs import run_execution

        queue.enqueue(run_execution, retry.pk, job_id=f"execution-{retry.pk}", job_timeout=-1)
    except redis.RedisError:
        retry.delete()
        from apps.executions.services import _unreachable

        raise _unreachable(queue) from None
    return retry
