"""Execution fixtures (busybox environment, runbooks) for automation tests."""

from tests.executions.conftest import environment, make_runbook  # noqa: F401 - re-exported fixtures
