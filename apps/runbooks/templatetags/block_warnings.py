from django import template

from apps.runbooks.models import Block
from apps.runbooks.warnings import block_warnings as warnings_of

register = template.Library()


@register.simple_tag
def block_warnings(block: Block) -> list[str]:
    """What the saved block can only fail with at run time (apps.runbooks.warnings)."""
    return warnings_of(block=block)
