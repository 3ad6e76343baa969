"""Execution fixtures and helpers shared by every area: a busybox environment, runbooks to run, the engine run
in-process (registered for the whole suite by tests/conftest.py's pytest_plugins)."""

import pytest

from apps.environments.models import ExecutionEnvironment
from apps.executions.jobs import run_execution
from apps.executions.selectors import step_output
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.runbooks import runbook_create
from apps.runbooks.versions import runbook_publish

IMAGE = "runbooks-test-busybox:latest"


@pytest.fixture
def environment(db):
    return ExecutionEnvironment.objects.create(
        name="busybox", image=IMAGE, is_default=True, memory_mb=64, cpus=1, pids_limit=64, timeout_seconds=60
    )


@pytest.fixture
def make_runbook(cast, environment):
    """make_runbook(owner, blocks, parameters=(), publish=True) → a runbook (published as v1 unless told).

    The cast's editor, runner and viewer get those roles on it, as on cast.runbook.
    """

    def make(owner, blocks, *, parameters=(), publish=True, title="Execution test"):
        runbook = runbook_create(
            user=owner, title=title, environment=environment.pk, parameters=list(parameters), blocks=blocks
        )
        for role in ("editor", "runner", "viewer"):
            runbook_grant(runbook=runbook, actor=owner, principal=getattr(cast, role), role=role)
        if publish:
            runbook_publish(runbook=runbook, user=owner, message="v1")
        return runbook

    return make


def command(key: str, script: str, **config) -> dict:
    return {"key": key, "kind": "command", "config": {"script": script, **config}}


def run_now(execution):
    """Run the queued job in this process, as the worker would, and reload the execution."""
    run_execution(execution.pk)
    execution.refresh_from_db()
    return execution


def output_of(step_run) -> str:
    return "".join(chunk.data for chunk in step_output(step_run))
