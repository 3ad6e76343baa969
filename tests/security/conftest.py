"""Fixtures of the execution tests, for attacks that run real steps (see tests/executions/conftest.py)."""

from tests.executions.conftest import environment, make_runbook  # noqa: F401 - re-exported fixtures
