"""The rules of who may run what, shared by starting a run and retrying one (DESIGN.md "Execution
semantics"): runners run the latest published version; an approval gate guards every block after it."""

from django.core.exceptions import PermissionDenied

from apps.audit.models import AuditEvent
from apps.runbooks.models import Runbook, RunbookVersion
from apps.runbooks.roles import EDIT
from apps.runbooks.versions import runbook_latest_version


def require_version_runnable(runbook: Runbook, user, version: RunbookVersion | None) -> None:
    """Runners run the latest published version only; editors may run any version (or the draft)."""
    if user.has_perm(EDIT, runbook):
        return
    if version is None:
        raise PermissionDenied("Only editors can run the draft; runners run published versions.")
    latest = runbook_latest_version(runbook)
    if latest is None or latest.pk != version.pk:
        raise PermissionDenied(
            f"Runners run the latest published version (v{latest.number if latest else '?'}); "
            f"v{version.number} can only be run by an editor."
        )


def approval_gates_before(blocks: list[dict], position: int) -> list[int]:
    """Positions of the approval gates before `position`. An approval gate guards every block after
    it, so a single-block run (or a retry) of such a block waits on them first."""
    return [index for index, block in enumerate(blocks[:position]) if is_approval_gate(block)]


def is_approval_gate(block: dict | None) -> bool:
    return bool(block) and block.get("kind") == "instruction" and (block.get("config") or {}).get("gate") == "approval"


def may_run_version_again(user, runbook: Runbook, version: RunbookVersion | None, *, draft: bool) -> bool:
    """Whether `user` may start this content again (a retry): the same rule as starting it."""
    if draft:
        return user.has_perm(EDIT, runbook)
    try:
        require_version_runnable(runbook, user, version)
    except PermissionDenied:
        return False
    return True


# Who can make a trigger or a schedule start a run: a trigger fires for whoever holds its secret (its
# creator, anyone who rotated it); a schedule fires as its creator made it or an editor changed it.
_SET_IN_MOTION = {
    "trigger": ("trigger.create", "trigger.rotate"),
    "schedule": ("schedule.create", "schedule.update"),
}


def execution_starter_ids(execution) -> set[int]:
    """The people who set this run in motion, none of whom may approve its gates (four eyes)."""
    if execution.triggered_by_id is not None:
        return {execution.triggered_by_id}
    source, kind = (execution.trigger_id, "trigger") if execution.trigger_id else (execution.schedule_id, "schedule")
    if source is None:
        return set()
    actors = AuditEvent.objects.filter(
        object_type=kind, object_id=str(source), action__in=_SET_IN_MOTION[kind], actor__isnull=False
    ).values_list("actor_id", flat=True)
    return set(actors)
