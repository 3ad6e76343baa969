"""Writes of who holds which role on a runbook; every change is audited."""

from django.db import transaction

from apps.audit.services import audit_record
from apps.core.object_roles import principal_label
from apps.runbooks.models import Runbook
from apps.runbooks.roles import ROLES


@transaction.atomic
def runbook_grant(*, runbook: Runbook, actor, principal, role: str | None) -> None:
    """Give `principal` (User or Group) exactly `role` on the runbook; None revokes every role."""
    previous = ROLES.grant(runbook, principal, role)
    if previous != role:
        audit_record(
            actor=actor, action="role.revoke" if role is None else "role.grant", obj=runbook,
            detail={"principal": principal_label(principal), "role": role, "previous": previous},
        )  # fmt: skip


@transaction.atomic
def runbook_set_access(*, runbook: Runbook, actor, entries) -> list[dict]:
    """Replace every grant with `entries` ([{principal, role}]); at least one owner must remain."""
    ROLES.replace_access(
        runbook,
        entries,
        lambda principal, role: runbook_grant(runbook=runbook, actor=actor, principal=principal, role=role),
    )
    return ROLES.access_entries(runbook)
