"""What a person may do on one step of a run: the buttons of the step partials
(templates/executions/steps/_actions.html). The page's view and the socket's consumer both ask
here for their own user, and pass the answer to the templates, which only show it."""

from apps.executions.models import Execution, StepRun
from apps.executions.rules import RETRYABLE, gate_of, may_approve, may_run_version_again, why_not_approver
from apps.runbooks.roles import RUN

RETRY_STEP_STATUSES = ("failed", "cancelled", "timed_out")


def step_actions_for(*, user, execution: Execution, step: StepRun) -> dict:
    """{decide: [decisions], skip: bool, retry: bool, approval_blocked: "" or why not}; nothing for
    viewers, and without a signed-in user no buttons."""
    actions = {"decide": [], "skip": False, "retry": False, "approval_blocked": ""}
    if user is None or not getattr(user, "is_authenticated", False):
        return actions
    if not user.has_perm(RUN, execution.runbook):
        return actions
    gate = gate_of(step) if step.status == "waiting" and execution.status == "waiting" else ""
    if gate == "confirm":
        actions["decide"] = ["continue", "reject"]
    elif gate == "approval":
        if may_approve(user, execution):
            actions["decide"] = ["approve", "reject"]
        else:
            actions["decide"] = ["reject"]
            actions["approval_blocked"] = why_not_approver(user, execution)
    elif gate == "timer":
        actions["skip"] = True
    actions["retry"] = (
        execution.status in RETRYABLE
        and step.status in RETRY_STEP_STATUSES
        and may_run_version_again(user, execution.runbook, execution.version, draft=execution.draft)
    )
    return actions
