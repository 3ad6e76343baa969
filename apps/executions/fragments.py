"""HTML fragments the execution socket sends: htmx ws-extension frames of hx-swap-oob elements.

Element ids shared with the execution page (templates/executions/):
  output-<step_run_id>      the <pre> a step's output is appended to (chunk spans go inside)
  chunk-<step_run_id>-<seq> one stored chunk; data-seq lets the page know what it has on reconnect
  step-state-<step_run_id>  a step's badge, spinner, exit code, duration, countdown, gate prompt, error
  execution-status          the run's badge (data-final="1" once it is over)
  execution-progress        steps done of total (full runs)
  execution-error           the run's error message
  execution-title           hidden text the page script copies into document.title
"""

from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.executions.ansi import ansi_to_html
from apps.executions.models import Execution, OutputChunk, StepRun
from apps.executions.selectors import execution_queue_position


def duration_of(started_at, finished_at) -> str:
    """ "0.4 s", "12 s", "3 min 05 s", "2 h 01 min"; empty before the start."""
    if started_at is None:
        return ""
    seconds = max(((finished_at or timezone.now()) - started_at).total_seconds(), 0)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _duration(step: StepRun) -> str:
    return duration_of(step.started_at, step.finished_at)


def chunk_element(step_run_id: int, seq: int, text: str):
    # Each chunk is converted alone: a colour left open at a chunk's end does not carry over (a
    # cosmetic loss) but an escape sequence can never leak markup across chunks.
    return format_html(
        '<span id="chunk-{}-{}" data-seq="{}" data-lines="{}">{}</span>',
        step_run_id,
        seq,
        seq,
        text.count("\n"),
        ansi_to_html(text),
    )


def chunks_frame(chunks: list[OutputChunk]) -> str:
    """Chunks of one step (in seq order) appended to its output pane."""
    if not chunks:
        return ""
    step_run_id = chunks[0].step_run_id
    inner = format_html_join("", "{}", ((chunk_element(c.step_run_id, c.seq, c.data),) for c in chunks))
    return format_html('<div hx-swap-oob="beforeend:#output-{}">{}</div>', step_run_id, inner)


def chunk_frame(step_run_id: int, seq: int, text: str) -> str:
    return format_html(
        '<div hx-swap-oob="beforeend:#output-{}">{}</div>', step_run_id, chunk_element(step_run_id, seq, text)
    )


def progress_of(steps: list[StepRun]) -> dict:
    return {"done": sum(1 for step in steps if step.is_final), "total": len(steps)}


def state_context(execution: Execution, steps: list[StepRun]) -> dict:
    return {
        "execution": execution,
        "duration": duration_of(execution.started_at, execution.finished_at),
        "step_states": [{"step": step, "duration": _duration(step)} for step in steps],
        "progress": progress_of(steps),
        # A queued run's place in the queue, so each frame updates the header's "Waiting for a free slot".
        "queue_position": execution_queue_position(execution),
    }
