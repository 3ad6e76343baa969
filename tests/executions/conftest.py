"""The execution tests' own fixtures; the shared ones are in tests/support/executions.py."""

import pytest

from apps.executions.services.start import execution_start
from tests.support.executions import command, run_now


@pytest.fixture
def run_script(cast, make_runbook, docker_engine):
    """run_script(script, **config) → (execution, step_run) of a one-block run, finished."""

    def run(script: str, **config):
        runbook = make_runbook(cast.owner, [command("main", script, **config)])
        execution = run_now(execution_start(runbook=runbook, user=cast.owner))
        return execution, execution.steps.get()

    return run
