"""The contract between the execution engine (apps.executions) and the block kinds' executors.

The engine walks a run's blocks; for each it builds a StepContext and calls the kind's executor,
which does the work and returns a StepOutcome. Executors never touch Execution/StepRun rows
directly: writing output goes through `ctx.output`, everything else through the outcome, so the
engine alone decides state transitions (at-most-once, cancel, lease).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.utils.module_loading import import_string


class OutputSink(Protocol):
    """Where an executor writes output: masked, capped, stored as numbered chunks, published live."""

    def write(self, text: str) -> None: ...

    def flush(self) -> None: ...


@dataclass
class StepContext:
    execution_id: int
    step_run_id: int
    # The block exactly as in the run's snapshot: {key, title, kind, config}.
    block: dict
    # Run parameters after defaults/choices were applied: {name: value}.
    params: dict[str, str]
    # Earlier steps of this run by key: {status, exit_code, output, result}.
    steps: dict[str, dict]
    # The environment's image and limits as snapshotted at start: {image, network, memory_mb, cpus,
    # pids_limit, timeout_seconds, env}.
    environment: dict
    # Decrypted secrets of credentials attached to this block: {credential_id: Credential-like}.
    # Only the engine decrypts; executors pass values into containers/requests, never to output.
    credentials: dict[int, Any]
    output: OutputSink
    # True once a cancel was requested; long-running executors poll it (or are killed by the engine).
    is_cancelled: Callable[[], bool]
    # Labels every resource an executor creates (containers) so the reaper can find leftovers.
    labels: dict[str, str] = field(default_factory=dict)
    # Called with the id of a container as soon as the step has one, before anything runs in it.
    on_container: Callable[[str], None] | None = None
    # Runs a ContainerSpec (apps.sandbox.spec) in a hardened container and returns its
    # ContainerResult: apps.sandbox.run.run_container, passed in by the engine, so the block kinds
    # never reach for the worker's side themselves.
    run_container: Callable[..., Any] | None = None


@dataclass
class Wait:
    """Suspend the run without holding a worker: until a time (timer) or a decision (gate)."""

    until: datetime | None = None
    reason: str = ""  # "timer", "confirm", "approval"


@dataclass
class StepOutcome:
    status: str  # an apps.executions.models.StepStatus value
    exit_code: int | None = None
    result: dict = field(default_factory=dict)
    error: str = ""
    # What the walk does next: "continue", "stop" (run succeeds), "fail", or "goto:<later key>".
    action: str = "continue"
    wait: Wait | None = None


Executor = Callable[[StepContext], StepOutcome]

# Dotted paths, imported on first use, so each kind's module can be built and tested on its own.
EXECUTOR_PATHS = {
    "instruction": "apps.blocks.executors.instruction.execute",
    "command": "apps.blocks.executors.command.execute",
    "api_call": "apps.blocks.executors.api_call.execute",
    "conditional": "apps.blocks.executors.conditional.execute",
    "timer": "apps.blocks.executors.timer.execute",
}


def executor_for(kind: str) -> Executor:
    return import_string(EXECUTOR_PATHS[kind])
