"""The rules of who may run and decide what, shared by the services, the pages and notifications
(DESIGN.md "Execution semantics"): runners run the latest published version; an approval gate
guards every block after it and takes a second person."""

from django.core.exceptions import PermissionDenied

from apps.audit.models import AuditEvent
from apps.executions.models import Execution, ExecutionStatus, StepRun
from apps.runbooks.models import Runbook, RunbookVersion
from apps.runbooks.roles import EDIT, RUN
from apps.runbooks.versions import runbook_latest_version

GATES = ("confirm", "approval")
# Which decisions each gate accepts; the first is the default when none is given.
DECISIONS = {"confirm": ("continue", "reject"), "approval": ("approve", "reject")}
RETRYABLE = (
    ExecutionStatus.FAILED,
    ExecutionStatus.CANCELLED,
    ExecutionStatus.TIMED_OUT,
    ExecutionStatus.INCOMPLETE,
)


def require_run(user, execution: Execution) -> None:
    """Deciding on a run (a gate, a timer, a retry) takes the runner role on its runbook."""
    if not user.has_perm(RUN, execution.runbook):
        raise PermissionDenied("Your role on this runbook does not allow deciding on its runs.")


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


def gate_of(step: StepRun) -> str:
    """ "confirm", "approval", "timer" or "" — what a waiting step waits for."""
    return str(((step.result or {}).get("wait") or {}).get("reason") or "")


def may_approve(user, execution: Execution) -> bool:
    """Approval takes a second person: whoever started the run (or set its trigger or schedule in motion)
    cannot approve it."""
    return user.pk not in execution_starter_ids(execution)


def why_not_approver(user, execution: Execution) -> str:
    if execution.triggered_by_id == user.pk:
        return "You started this run, so you cannot approve it"
    source = "trigger" if execution.trigger_id else "schedule"
    return f"You set this run's {source} in motion, so you cannot approve it"


def may_cancel(user, execution: Execution) -> bool:
    """Whether this person sees "Cancel run…": the page and the socket's frames (consumers.py) both ask here."""
    return (
        not execution.is_final
        and execution.cancel_requested_at is None
        and user is not None
        and user.is_authenticated
        and user.has_perm(RUN, execution.runbook)
    )
