"""The walk: the steps of a claimed run in order, each outcome deciding what comes next (the next
step, a jump, a wait, the end of the run). Only the walk changes a running run's states."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.audit.services import audit_record
from apps.blocks.executors.base import StepOutcome
from apps.executions.engine.credentials import credentials_preflight
from apps.executions.engine.lease import CancelWatch
from apps.executions.engine.step import run_step, step_view
from apps.executions.events import execution_event_send
from apps.executions.models import Execution, ExecutionStatus, StepRun, StepStatus
from apps.executions.output import publish_state
from apps.executions.queue import schedule_timer
from apps.executions.services.lifecycle import execution_mark_incomplete

# A continuation this early still counts (clocks of the scheduler's and this worker's hosts differ
# a little): going back to waiting would leave the run with nothing to resume it.
TIMER_EARLY_TOLERANCE = timedelta(seconds=1)


@dataclass
class Walk:
    """One pass over a claimed run: its steps, their blocks, what later steps see of earlier ones."""

    execution: Execution
    steps: list[StepRun]
    blocks: dict[str, dict]
    earlier: dict[str, dict]
    cancel: CancelWatch


def walk(execution: Execution) -> None:
    steps = list(execution.steps.order_by("position"))
    blocks = {block["key"]: block for block in execution.snapshot.get("blocks") or []}
    if _refused_before_anything_runs(execution, steps, blocks):
        return
    earlier = {step.block_key: step_view(step) for step in steps if step.is_final and step.status != "skipped"}
    state = Walk(execution, steps, blocks, earlier, CancelWatch(execution.pk))
    position: int | None = execution.next_position
    while position is not None and position < len(steps):
        position = _advance(state, position)
    if position is not None:
        _finish(execution, ExecutionStatus.SUCCEEDED)


def _refused_before_anything_runs(execution: Execution, steps: list[StepRun], blocks: dict[str, dict]) -> bool:
    """A step still to run whose credentials are refused fails the run before anything runs."""
    refused = credentials_preflight(execution, steps, blocks)
    if refused is None:
        return False
    step, reason = refused
    now = timezone.now()
    StepRun.objects.filter(pk=step.pk, status=StepStatus.PENDING).update(
        status=StepStatus.FAILED, error=reason, started_at=now, finished_at=now
    )
    _finish(execution, ExecutionStatus.FAILED, f"Step {step.block_key} failed: {reason}")
    return True


def _advance(state: Walk, position: int) -> int | None:
    """Walk the step at `position`: the position to go on from, or None when the walk ends here
    (the run finished, waits, or was lost)."""
    execution, step = state.execution, state.steps[position]
    if state.cancel.now():
        _finish(execution, ExecutionStatus.CANCELLED, "Cancelled.")
        return None
    if step.status == StepStatus.RUNNING:
        _lose(execution, step)
        return None
    if step.status == StepStatus.WAITING and not _waiting_step_done(execution, step, position):
        return None
    if step.is_final:
        # Resolved while the run waited (a gate passed, a timer skipped), or carried from a retry.
        state.earlier[step.block_key] = step_view(step)
        return position + 1
    outcome = _start_and_run(state, step, position)
    if outcome is None:
        return None
    if outcome.wait is not None and outcome.status == StepStatus.WAITING:
        _suspend(execution, step, position, outcome)
        return None
    _record(step, outcome)
    state.earlier[step.block_key] = step_view(step)
    return _after(state, step, position, outcome)


def _waiting_step_done(execution: Execution, step: StepRun, position: int) -> bool:
    """A timer whose time has come is done (it succeeds now); a gate still waiting for someone's
    decision, or a timer resumed too early, puts the run back to waiting."""
    if not _waiting_step_ready(step):
        Execution.objects.filter(pk=execution.pk, status=ExecutionStatus.RUNNING).update(
            status=ExecutionStatus.WAITING, next_position=position, lease_expires_at=None, worker_name=""
        )
        publish_state(execution.pk)
        return False
    step.status = StepStatus.SUCCEEDED
    step.finished_at = timezone.now()
    step.save(update_fields=["status", "finished_at"])
    return True


def _waiting_step_ready(step: StepRun) -> bool:
    wait = (step.result or {}).get("wait") or {}
    if wait.get("reason") != "timer" or not wait.get("until"):
        return False
    until = parse_datetime(wait["until"])
    return until is not None and until <= timezone.now() + TIMER_EARLY_TOLERANCE


def _start_and_run(state: Walk, step: StepRun, position: int) -> StepOutcome | None:
    """Pending → running, then its executor; None when another walk already took the step."""
    execution = state.execution
    Execution.objects.filter(pk=execution.pk).update(next_position=position)
    started = StepRun.objects.filter(pk=step.pk, status=StepStatus.PENDING).update(
        status=StepStatus.RUNNING, started_at=timezone.now()
    )
    if not started:
        _lose(execution, step)
        return None
    step.refresh_from_db()
    publish_state(execution.pk)
    return run_step(execution, step, state.blocks[step.block_key], state.earlier, state.cancel)


def _record(step: StepRun, outcome: StepOutcome) -> None:
    step.status = outcome.status
    step.exit_code = outcome.exit_code
    step.result = outcome.result or {}
    step.error = outcome.error or ""
    step.finished_at = timezone.now()
    step.container_id = str(step.result.get("container_id", "")) if step.kind == "command" else ""
    step.save(update_fields=["status", "exit_code", "result", "error", "finished_at", "container_id"])


def _failure(outcome: StepOutcome) -> str:
    if outcome.error:
        return outcome.error
    return f"exit code {outcome.exit_code}" if outcome.exit_code is not None else "failed"


def _after(state: Walk, step: StepRun, position: int, outcome: StepOutcome) -> int | None:
    """What a finished step's outcome does to the run: go on, jump, stop, or end it."""
    execution = state.execution
    if outcome.status == StepStatus.CANCELLED or state.cancel.now():
        _finish(execution, ExecutionStatus.CANCELLED, "Cancelled.")
        return None
    if outcome.status == StepStatus.TIMED_OUT:
        _finish(execution, ExecutionStatus.TIMED_OUT, outcome.error or f"Step {step.block_key} timed out.")
        return None
    continues = (state.blocks[step.block_key].get("config") or {}).get("continue_on_error")
    if outcome.status == StepStatus.FAILED and not continues:
        _finish(execution, ExecutionStatus.FAILED, f"Step {step.block_key} failed: {_failure(outcome)}")
        return None
    action = outcome.action or "continue"
    if action == "stop":
        _finish(execution, ExecutionStatus.SUCCEEDED)
        return None
    if action == "fail":
        _finish(execution, ExecutionStatus.FAILED, outcome.error or f"Step {step.block_key} ended the run as failed.")
        return None
    if action.startswith("goto:"):
        return _goto(state, step, position, action.removeprefix("goto:"))
    return position + 1


def _goto(state: Walk, step: StepRun, position: int, target: str) -> int | None:
    """Jump to a later step; the ones in between are skipped."""
    steps = state.steps
    later = [index for index in range(position + 1, len(steps)) if steps[index].block_key == target]
    if not later:
        _finish(
            state.execution, ExecutionStatus.FAILED, f"Step {step.block_key} jumps to “{target}”, not a later step."
        )
        return None
    between = range(position + 1, later[0])
    StepRun.objects.filter(pk__in=[steps[index].pk for index in between], status=StepStatus.PENDING).update(
        status=StepStatus.SKIPPED, finished_at=timezone.now()
    )
    for index in between:
        steps[index].status = StepStatus.SKIPPED
    return later[0]


def _lose(execution: Execution, step: StepRun) -> None:
    """A step found running at claim time ran under a dead worker: never re-run it."""
    execution_mark_incomplete(execution_id=execution.pk, reason_step=step.block_key)


def _finish_steps(execution: Execution, status: str, *, statuses=(StepStatus.PENDING,)) -> None:
    execution.steps.filter(status__in=statuses).update(status=status, finished_at=timezone.now())


def _finish(execution: Execution, status: str, error: str = "") -> None:
    now = timezone.now()
    if status == ExecutionStatus.CANCELLED:
        _finish_steps(execution, StepStatus.CANCELLED, statuses=(StepStatus.PENDING, StepStatus.WAITING))
    else:
        _finish_steps(execution, StepStatus.SKIPPED, statuses=(StepStatus.PENDING,))
    updated = Execution.objects.filter(pk=execution.pk, status=ExecutionStatus.RUNNING).update(
        status=status, finished_at=now, lease_expires_at=None, error=error
    )
    if updated:
        audit_record(
            actor=execution.triggered_by or "system",
            action="execution.finish",
            obj=execution,
            detail={"status": status, "error": error} if error else {"status": status},
        )
        execution_event_send(execution_id=execution.pk, event=status)
    publish_state(execution.pk)


def _suspend(execution: Execution, step: StepRun, position: int, outcome: StepOutcome) -> None:
    wait = outcome.wait
    step.status = StepStatus.WAITING
    step.result = {
        **(outcome.result or {}),
        "wait": {"reason": wait.reason, "until": wait.until.isoformat() if wait.until else None},
    }
    step.save(update_fields=["status", "result"])
    Execution.objects.filter(pk=execution.pk, status=ExecutionStatus.RUNNING).update(
        status=ExecutionStatus.WAITING, next_position=position, lease_expires_at=None, worker_name=""
    )
    execution_event_send(execution_id=execution.pk, event="waiting", gate=wait.reason, step_key=step.block_key)
    if wait.until is not None:
        # A fixed id: skipping the timer unschedules it. Nothing else holds the run meanwhile.
        schedule_timer(execution.pk, step.pk, wait.until)
    publish_state(execution.pk)
