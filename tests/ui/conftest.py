"""The execution tests' busybox environment, for pages that show a finished run."""

from tests.executions.conftest import environment  # noqa: F401
