"""The environment switches that turn a skip into a failure in CI (RUNBOOKS_REQUIRE_DOCKER=1 …)."""

import os


def required(name: str) -> bool:
    return os.environ.get(name, "") == "1"
