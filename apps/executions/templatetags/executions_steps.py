"""What a person may do on one step of a run, for the step partials (templates/executions/steps/)."""

import json

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.executions.gates import RETRYABLE, gate_of, may_approve, why_not_approver
from apps.executions.rules import may_run_version_again
from apps.runbooks.roles import RUN

register = template.Library()
RETRY_STEP_STATUSES = ("failed", "cancelled", "timed_out")


@register.simple_tag
def step_actions(user, execution, step) -> dict:
    """{decide: [decisions], skip: bool, retry: bool, approval_blocked: "" or why not}; nothing for viewers.

    The page renders them for the person viewing it, and the socket's consumer for its own user
    (consumers.py), from this same tag: without a signed-in user, no buttons.
    """
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


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


@register.filter
def seconds_until(value) -> int:
    """Whole seconds left until an ISO time (0 once past): the countdown's server-side start."""
    moment = parse_datetime(str(value or ""))
    if moment is None:
        return 0
    return max(0, int((moment - timezone.now()).total_seconds() + 0.999))


@register.filter
def iso_time(value):
    """An ISO string from a result (JSON has no datetimes) back to a datetime for |date."""
    return parse_datetime(str(value or ""))


@register.filter
def countdown_text(value) -> str:
    """What static/js/executions.js shows each second, so the first paint matches the ticking."""
    left = seconds_until(value)
    return f"{left // 60} min {left % 60:02d} s" if left >= 60 else f"{left} s"


@register.filter
def published_values(step) -> dict:
    """steps.<key>.result.values; `step.result.values` in a template would call dict.values when absent."""
    values = (step.result or {}).get("values") if isinstance(step.result, dict) else None
    return values if isinstance(values, dict) else {}
