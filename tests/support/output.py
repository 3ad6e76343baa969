"""Stored output for the execution socket's tests, written as the worker's sink writes it (masking, batching,
seq numbers, publishing); only the container is left out."""

from apps.executions.models import StepRun
from apps.executions.output import StepOutput


def first_step(execution) -> StepRun:
    return execution.steps.get(position=0)


def sink(execution, secrets=()) -> StepOutput:
    return StepOutput(execution_id=execution.pk, step_run=first_step(execution), secrets=list(secrets))


def store(execution, *texts, secrets=()) -> None:
    """Each text becomes one stored (and published) chunk, exactly as the worker's sink does it."""
    output = sink(execution, secrets)
    for text in texts:
        output.write(text)
        output._store()  # one chunk per text instead of waiting for the 50 ms batch window
    output.flush()
