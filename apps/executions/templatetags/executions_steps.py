"""Formatting for the step partials (templates/executions/steps/); what a person may do on a step is
decided in apps.executions.actions and arrives in the context as `actions`."""

import json

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime

register = template.Library()


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
