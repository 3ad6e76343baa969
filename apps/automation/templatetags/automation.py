"""`{% automation_panel runbook %}`: the runbook page's view of its schedules and proposed runs.

The runbook page cannot put this in its context: runbooks sit below automation and do not import
it. So the page names this tag, and the tag hands over what automation_panel_for decided.
"""

from django import template

from apps.automation.selectors import automation_panel_for

register = template.Library()


@register.inclusion_tag("automation/_runbook_panel.html", takes_context=True)
def automation_panel(context, runbook) -> dict:
    return {
        **automation_panel_for(user=context["request"].user, runbook=runbook),
        "csrf_token": context.get("csrf_token"),
    }
