"""Command steps that run until the test lets them go, for browser tests that assert a run's state
mid-run: while the step is held, the state on the page is still the run's state, however loaded the
machine is. (A `sleep 3` raced the browser and, under load, lost: the step was over before the page
showed its "Cancel run…".)

A step container has no network and a read-only root, so nothing it can see tells it to go on but
its own /tmp (a tmpfs): the held script waits for a file there, and `release` creates that file with
`docker exec` in the container the step's StepRun names. The step's own timeout still applies, so a
test that dies never leaves a step running for longer than that.
"""

import json

import docker

from apps.executions.models import StepRun
from tests.support.live_stack import Stack, database_url

POLL_SECONDS = 0.1  # how often the held script looks for its file (inside the container)

CONTAINER_OF = """
import json
from apps.executions.models import StepRun
step = StepRun.objects.filter(execution_id={execution_id}, block_key={block_key!r}).first()
print("CONTAINER" + json.dumps(step.container_id if step else ""))
"""


def hold(name: str = "go") -> str:
    """Shell that waits until `release(..., name)` creates /tmp/<name> in the step's container."""
    return f"until [ -e /tmp/{name} ]; do sleep {POLL_SECONDS}; done"


def step_container(stack: Stack, *, execution_id: int, block_key: str) -> str:
    """The id of the container the run's step runs in ("" before it has one)."""
    if database_url() is not None:  # the stack runs on this process's test database
        step = StepRun.objects.filter(execution_id=execution_id, block_key=block_key).first()
        return step.container_id if step else ""
    out = stack.manage("shell", "-c", CONTAINER_OF.format(execution_id=execution_id, block_key=block_key))
    return json.loads(out.split("CONTAINER", 1)[1])


def release(stack: Stack, *, execution_id: int, block_key: str, names: tuple[str, ...] = ("go",)) -> None:
    """Let a held step go on: create /tmp/<name> for each name in its container. Call it once the
    page shows the step's output: the container is known by then."""
    container_id = step_container(stack, execution_id=execution_id, block_key=block_key)
    assert container_id, f"run #{execution_id}: step {block_key} has no container (not started?)"
    client = docker.from_env(timeout=30)
    try:
        exit_code, output = client.containers.get(container_id).exec_run(["touch", *(f"/tmp/{n}" for n in names)])
    finally:
        client.close()
    assert exit_code == 0, f"could not release step {block_key} of run #{execution_id}: {output!r}"
