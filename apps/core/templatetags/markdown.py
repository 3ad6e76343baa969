"""`{{ text|markdown }}`: the one way templates show user Markdown (sanitised by render_markdown)."""

from django import template
from django.utils.safestring import SafeString, mark_safe

from apps.core.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(source: str | None) -> SafeString:
    # Safe to mark: render_markdown drops raw HTML and runs nh3 over the result.
    return mark_safe(render_markdown(source or ""))  # noqa: S308
