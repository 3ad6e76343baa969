"""The labels every step container carries, so a reaper finds leftovers and never touches another
installation's containers on a shared Docker engine."""

import hashlib
import os

from django.db import connection

INSTANCE_LABEL = "runbooks.instance"
# The run and the block a container serves (the engine sets them, the sweep reads the run's).
EXECUTION_LABEL = "runbooks.execution"
STEP_LABEL = "runbooks.step"


def instance_id() -> str:
    """Names this installation's database, so a reaper never touches another installation's
    containers on a shared Docker engine."""
    database = connection.settings_dict
    identity = "|".join(str(database.get(key) or "") for key in ("ENGINE", "HOST", "PORT", "NAME"))
    name = str(database.get("NAME") or "")
    if name == ":memory:" or "mode=memory" in name:
        # An in-memory database (tests) belongs to one process: so do its containers.
        identity += f"|{os.getpid()}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]


def step_labels(*, execution_id: int, step_key: str) -> dict[str, str]:
    """The labels of a step's container: its run, its block and this installation."""
    return {EXECUTION_LABEL: str(execution_id), STEP_LABEL: step_key, INSTANCE_LABEL: instance_id()}
