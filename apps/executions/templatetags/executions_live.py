"""The execution page's output panes: the last lines of each step, as the live socket continues them."""

from dataclasses import dataclass

from django import template
from django.utils.safestring import SafeString

from apps.executions.ansi import ansi_to_html
from apps.executions.models import OutputChunk, StepRun

register = template.Library()

# The page keeps this many lines per step in the DOM (static/js/executions.js trims to the same);
# the rest is one click away on the full-output page.
TAIL_LINES = 5000


@dataclass
class OutputTail:
    html: SafeString
    last_seq: int  # highest seq on the page: the socket resumes after it
    lines: int
    trimmed: bool  # earlier chunks exist that the page does not show


def output_tail(step: StepRun, max_lines: int = TAIL_LINES) -> OutputTail:
    """Chunks from the end until `max_lines` lines are in, read newest first so a 2 MiB step costs little."""
    if step.started_at is None and not step.output_bytes:
        return OutputTail(html=SafeString(""), last_seq=-1, lines=0, trimmed=False)  # saves the query
    texts: list[str] = []
    lines = 0
    first_seq = last_seq = -1
    for seq, data in (
        OutputChunk.objects.filter(step_run=step).order_by("-seq").values_list("seq", "data").iterator(chunk_size=50)
    ):
        if last_seq < 0:
            last_seq = seq
        texts.append(data)
        first_seq = seq
        lines += data.count("\n")
        if lines >= max_lines:
            break
    texts.reverse()
    # Converted as one text, so colours spanning chunks render right in the backlog.
    return OutputTail(html=ansi_to_html("".join(texts)), last_seq=last_seq, lines=lines, trimmed=first_seq > 0)


@register.simple_tag
def live_output(step: StepRun) -> OutputTail:
    return output_tail(step)
