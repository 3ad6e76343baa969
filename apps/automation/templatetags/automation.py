"""`{% automation_panel runbook %}`: the runbook page's view of its schedules and proposed runs."""

from django import template

from apps.automation.schedules import schedule_next_times
from apps.automation.selectors import schedules_of, waiting_proposals_of
from apps.runbooks.roles import EDIT, RUN

register = template.Library()


@register.inclusion_tag("automation/_runbook_panel.html", takes_context=True)
def automation_panel(context, runbook) -> dict:
    user = context["request"].user
    upcoming = []
    for schedule in schedules_of(runbook).filter(enabled=True):
        upcoming += [(moment, schedule) for moment in schedule_next_times(schedule, count=3)]
    upcoming.sort(key=lambda pair: pair[0])
    return {
        "runbook": runbook,
        "upcoming": upcoming[:5],
        "proposals": list(waiting_proposals_of(runbook)[:10]),
        "can_edit": user.has_perm(EDIT, runbook),
        "can_run": user.has_perm(RUN, runbook),
        "csrf_token": context.get("csrf_token"),
    }
