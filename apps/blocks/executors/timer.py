"""The timer executor: ask the engine to suspend the run until a time, holding no worker meanwhile."""

from datetime import timedelta

from django.utils import timezone

from apps.blocks.executors.base import StepContext, StepOutcome, Wait


def execute(ctx: StepContext) -> StepOutcome:
    seconds = int((ctx.block.get("config") or {}).get("seconds", 60))
    until = timezone.now() + timedelta(seconds=seconds)
    ctx.output.write(f"Waiting {seconds} s, until {until.isoformat(timespec='seconds')}.\n")
    return StepOutcome(status="waiting", wait=Wait(until=until, reason="timer"))
