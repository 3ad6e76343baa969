"""One step: its executor called with everything it needs (the step context), whatever goes wrong
turned into a failed outcome, its secrets masked out of what it leaves behind."""

import logging
import traceback

from apps.blocks.executors.base import StepContext, StepOutcome, executor_for
from apps.executions.engine.credentials import StepError, credentials_decrypt
from apps.executions.engine.lease import CancelWatch
from apps.executions.models import Execution, OutputChunk, StepRun, StepStatus
from apps.executions.output import StepOutput
from apps.sandbox.labels import step_labels
from apps.sandbox.run import run_container

logger = logging.getLogger(__name__)

# What earlier steps' `output` carries into later steps (conditional expressions, env vars).
STEP_OUTPUT_FOR_LATER_STEPS = 64 * 1024


def step_view(step: StepRun) -> dict:
    """What later steps see of an earlier one: {status, exit_code, output, result}."""
    output, size = [], 0
    for data in OutputChunk.objects.filter(step_run=step).order_by("seq").values_list("data", flat=True):
        output.append(data)
        size += len(data)
        if size >= STEP_OUTPUT_FOR_LATER_STEPS:
            break
    return {
        "status": step.status,
        "exit_code": step.exit_code,
        "output": "".join(output)[:STEP_OUTPUT_FOR_LATER_STEPS],
        "result": step.result,
    }


def run_step(execution: Execution, step: StepRun, block: dict, earlier: dict, cancel: CancelWatch) -> StepOutcome:
    """Call the block's executor; whatever goes wrong becomes a failed step, never a dead worker."""
    try:
        credentials = credentials_decrypt(execution, block)
    except StepError as error:
        return StepOutcome(status=StepStatus.FAILED, error=str(error))
    output = StepOutput(
        execution_id=execution.pk, step_run=step, secrets=[credential.secret for credential in credentials.values()]
    )
    context = StepContext(
        execution_id=execution.pk,
        step_run_id=step.pk,
        block=block,
        params=dict(execution.params or {}),
        steps=dict(earlier),
        environment=dict(execution.environment or {}),
        credentials=credentials,
        output=output,
        is_cancelled=cancel,
        labels=step_labels(execution_id=execution.pk, step_key=block["key"]),
        # Recorded before the step runs: the reaper finds a dead worker's container by it.
        on_container=lambda container_id: StepRun.objects.filter(pk=step.pk).update(container_id=container_id[:12]),
        # Command steps run their container through the sandbox: blocks get it here, never import it.
        run_container=run_container,
    )
    try:
        outcome = executor_for(block["kind"])(context)
    except Exception as error:
        # The frames only, never the exception's message: a message can quote the value that broke
        # the executor (a UnicodeEncodeError quotes the character of a secret it could not encode).
        logger.error(
            "Executor %s crashed in execution %s with %s:\n%s",
            block["kind"], execution.pk, type(error).__name__, "".join(traceback.format_tb(error.__traceback__)),
        )  # fmt: skip
        outcome = StepOutcome(
            status=StepStatus.FAILED, error=f"Internal error in the {block['kind']} step ({type(error).__name__})."
        )
    finally:
        try:
            output.flush()
        except Exception:
            logger.exception("Could not store the last output of step run %s", step.pk)
    if not isinstance(outcome, StepOutcome):
        outcome = StepOutcome(status=StepStatus.FAILED, error="The executor returned no outcome.")
    # One masking rule for everything a step leaves behind: result and error are shown like output.
    outcome.result = output.mask_data(outcome.result or {})
    outcome.error = output.mask_data(outcome.error or "")
    return outcome
