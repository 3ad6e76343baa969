"""Tags that make the version templates self-sufficient when included by other pages."""

from django import template
from django.urls import NoReverseMatch, reverse

from apps.runbooks.versions import DraftStatus, draft_status

register = template.Library()


@register.simple_tag
def draft_status_of(runbook) -> DraftStatus:
    """`{% draft_status_of runbook as status %}`: does the draft differ from the latest version?"""
    return draft_status(runbook)


@register.simple_tag
def runbook_page_url(runbook) -> str:
    # The runbook page belongs to the authoring views; fall back to its documented path.
    try:
        return reverse("runbooks:detail", args=[runbook.pk])
    except NoReverseMatch:
        return f"/runbooks/{runbook.pk}/"


@register.filter
def version_label(value) -> str:
    return "draft" if value in (None, "", "draft") else f"v{value}"
