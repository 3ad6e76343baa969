"""A step's whole stored output: a server-rendered page and a plain-text download.

The execution page keeps only the last few thousand lines in the DOM; these are where the rest is.
Both read the stored (masked) chunks through execution_for_user, like every execution page.
"""

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from apps.executions.ansi import ansi_to_html
from apps.executions.models import Execution, OutputChunk, StepRun
from apps.executions.selectors import execution_for_user

# Read the chunks in pages: a 2 MiB output never sits in memory as model instances all at once.
CHUNKS_PER_QUERY = 200


def _step_of(execution: Execution, step_pk: int) -> StepRun:
    try:
        return StepRun.objects.get(execution=execution, pk=step_pk)
    except StepRun.DoesNotExist:
        raise Http404("No such step in this run.") from None


def _texts(step: StepRun) -> Iterator[str]:
    return (
        OutputChunk.objects.filter(step_run=step)
        .order_by("seq")
        .values_list("data", flat=True)
        .iterator(chunk_size=CHUNKS_PER_QUERY)
    )


@login_required
@require_GET
def step_output_page(request: HttpRequest, pk: int, step_pk: int) -> HttpResponse:
    execution = execution_for_user(request.user, pk)
    step = _step_of(execution, step_pk)
    # Converted as one text so colours that span chunks stay right on this page.
    output = ansi_to_html("".join(_texts(step)))
    context = {"execution": execution, "step": step, "output": output, "nav": "executions"}
    return render(request, "executions/output.html", context)


@login_required
@require_GET
def step_output_download(request: HttpRequest, pk: int, step_pk: int) -> StreamingHttpResponse:
    execution = execution_for_user(request.user, pk)
    step = _step_of(execution, step_pk)
    response = StreamingHttpResponse(
        (text.encode("utf-8") for text in _texts(step)), content_type="text/plain; charset=utf-8"
    )
    filename = f"run-{execution.pk}-{slugify(step.block_key) or step.pk}.txt"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Output is masked, but still what a team ran during an incident: keep it out of shared caches.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
