"""Formatting for the version templates; whether the draft differs comes from the view (draft_status)."""

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


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
