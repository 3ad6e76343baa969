"""Retrying a run from a step: a new run of the same content and params that starts there, with
the earlier steps' results (and output) carried over."""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from apps.audit.services import audit_record
from apps.core.errors import Conflict, InvalidInput
from apps.executions.models import Execution, OutputChunk, StepRun, StepStatus
from apps.executions.queue import QueueUnavailable, enqueue_run, queue_ping
from apps.executions.rules import RETRYABLE, is_approval_gate, require_run, require_version_runnable
from apps.runbooks.roles import EDIT


def _needs_approval_again(step: StepRun, blocks: dict[str, dict]) -> bool:
    """An approval gate of the snapshot that this step did not pass with an approval."""
    if not is_approval_gate(blocks.get(step.block_key)):
        return False
    return not (step.status == StepStatus.SUCCEEDED and (step.result or {}).get("decision") == "approve")


def execution_retry_from(*, execution: Execution, user, key: str) -> Execution:
    """A new run of the same content and params that starts at `key`; earlier results are carried."""
    require_run(user, execution)
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
    queue_ping()
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
        enqueue_run(retry.pk)
    except QueueUnavailable:
        retry.delete()
        raise
    return retry
