"""`instruction` blocks: Markdown for the operator; a gate makes the run wait for a person."""

from apps.blocks.executors.base import StepContext, StepOutcome, Wait


def execute(ctx: StepContext) -> StepOutcome:
    config = ctx.block.get("config") or {}
    gate = config.get("gate") or "none"
    if gate in ("confirm", "approval"):
        # The gates issue's confirm/approve services mark this step and enqueue resume_execution.
        return StepOutcome(status="waiting", wait=Wait(reason=gate), result={"gate": gate})
    # Recorded so history shows the operator was shown these instructions at this point of the run.
    return StepOutcome(status="succeeded", result={"shown": True, "gate": "none"})
