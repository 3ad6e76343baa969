"""Runbook roles as sets of guardian object permissions; each role includes the ones below it."""

from django.db import models

from apps.core.object_roles import RoleScheme
from apps.runbooks.models import RunbookGroupObjectPermission, RunbookUserObjectPermission


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    RUNNER = "runner", "Runner"
    EDITOR = "editor", "Editor"
    OWNER = "owner", "Owner"


VIEW = "runbooks.view_runbook"
RUN = "runbooks.run_runbook"
EDIT = "runbooks.change_runbook"
SHARE = "runbooks.share_runbook"

ROLES = RoleScheme(
    noun="runbook",
    order=(Role.VIEWER, Role.RUNNER, Role.EDITOR, Role.OWNER),
    codenames={
        Role.VIEWER: ("view_runbook",),
        Role.RUNNER: ("view_runbook", "run_runbook"),
        Role.EDITOR: ("view_runbook", "run_runbook", "change_runbook"),
        Role.OWNER: ("view_runbook", "run_runbook", "change_runbook", "share_runbook"),
    },
    user_permissions=RunbookUserObjectPermission,
    group_permissions=RunbookGroupObjectPermission,
)
ROLE_CODENAMES = ROLES.codenames
