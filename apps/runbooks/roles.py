"""Runbook roles as sets of guardian object permissions; each role includes the ones below it."""

from django.db import models


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    RUNNER = "runner", "Runner"
    EDITOR = "editor", "Editor"
    OWNER = "owner", "Owner"


VIEW = "runbooks.view_runbook"
RUN = "runbooks.run_runbook"
EDIT = "runbooks.change_runbook"
SHARE = "runbooks.share_runbook"

ROLE_CODENAMES: dict[str, list[str]] = {
    Role.VIEWER: ["view_runbook"],
    Role.RUNNER: ["view_runbook", "run_runbook"],
    Role.EDITOR: ["view_runbook", "run_runbook", "change_runbook"],
    Role.OWNER: ["view_runbook", "run_runbook", "change_runbook", "share_runbook"],
}
ALL_CODENAMES = ROLE_CODENAMES[Role.OWNER]
ROLE_ORDER = [Role.VIEWER, Role.RUNNER, Role.EDITOR, Role.OWNER]


def role_from_codenames(codenames: set[str]) -> str | None:
    """The highest role whose permissions are all present."""
    for role in reversed(ROLE_ORDER):
        if set(ROLE_CODENAMES[role]) <= codenames:
            return role
    return None
