"""Buttons on a run's page: Continue / Approve / Reject a gate, Skip a timer, Retry from a step.

Thin callers of apps.executions.services.decide and .retry; the runbook's role decides through execution_for_user.
Without JavaScript they are plain form posts that come back to the run's page with a message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.core.errors import Conflict, InvalidInput, ServiceUnavailable
from apps.executions.models import Execution
from apps.executions.selectors import execution_for_user
from apps.executions.services.decide import execution_confirm, execution_skip_timer
from apps.executions.services.retry import execution_retry_from
from apps.runbooks.roles import RUN

DONE = {"continue": "Continued.", "approve": "Approved: the run goes on.", "reject": "Rejected: the run ended failed."}


def _message_of(error: Exception) -> str:
    if isinstance(error, InvalidInput):
        return " ".join(str(message) for messages_ in error.errors.values() for message in messages_)
    return str(error)


def _back(request: HttpRequest, execution: Execution) -> HttpResponse:
    if request.htmx:
        from apps.executions.views import _detail_context

        execution.refresh_from_db()
        return render(request, "executions/_execution.html", _detail_context(request, execution))
    return redirect("executions:detail", pk=execution.pk)


@login_required
@require_POST
def step_decide(request: HttpRequest, pk: int) -> HttpResponse:
    execution = execution_for_user(request.user, pk, RUN)
    decision = request.POST.get("decision") or None
    try:
        execution_confirm(execution=execution, user=request.user, key=request.POST.get("step", ""), decision=decision)
    except (Conflict, InvalidInput, ServiceUnavailable) as error:
        messages.error(request, _message_of(error))
    except PermissionDenied as error:
        # The starter asking to approve their own run: said on the page, not a bare 403 page.
        messages.error(request, str(error))
    else:
        messages.success(request, DONE.get(decision or "", "Done: the run goes on."))
    return _back(request, execution)


@login_required
@require_POST
def step_skip_timer(request: HttpRequest, pk: int) -> HttpResponse:
    execution = execution_for_user(request.user, pk, RUN)
    try:
        execution_skip_timer(execution=execution, user=request.user, key=request.POST.get("step", ""))
    except (Conflict, InvalidInput, ServiceUnavailable) as error:
        messages.error(request, _message_of(error))
    else:
        messages.success(request, "Timer skipped: the run goes on.")
    return _back(request, execution)


@login_required
@require_POST
def execution_retry(request: HttpRequest, pk: int) -> HttpResponse:
    execution = execution_for_user(request.user, pk, RUN)
    try:
        retry = execution_retry_from(execution=execution, user=request.user, key=request.POST.get("from", ""))
    except (Conflict, InvalidInput, ServiceUnavailable) as error:
        messages.error(request, _message_of(error))
        return redirect("executions:detail", pk=execution.pk)
    messages.success(request, f"Retrying run #{execution.pk} from “{request.POST.get('from')}” as run #{retry.pk}.")
    response = redirect("executions:detail", pk=retry.pk)
    if request.htmx:
        # A new page, not a swap: the retry is another execution with its own socket.
        response = HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
    return response
