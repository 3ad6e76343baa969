"""Buttons on a run's page: Continue / Approve / Reject a gate, Skip a timer, Retry from a step.

Thin callers of apps.executions.services.decide and .retry; the runbook's role decides through execution_for_user.
Without JavaScript they are plain form posts that come back to the run's page with a message;
a refusal (a gate already decided, Redis down …) is that message too (apps.core.pages).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.core.pages import domain_errors, flash
from apps.executions.selectors import execution_for_user
from apps.executions.services.decide import execution_confirm, execution_skip_timer
from apps.executions.services.retry import execution_retry_from
from apps.executions.views.runs import back_to_run
from apps.runbooks.roles import RUN

DONE = {"continue": "Continued.", "approve": "Approved: the run goes on.", "reject": "Rejected: the run ended failed."}


def _to_run_page(request: HttpRequest, pk: int) -> HttpResponse:
    return redirect("executions:detail", pk=pk)


@login_required
@require_POST
@domain_errors(flash(back_to_run))
def step_decide(request: HttpRequest, pk: int) -> HttpResponse:
    execution = execution_for_user(request.user, pk, RUN)
    decision = request.POST.get("decision") or None
    try:
        execution_confirm(execution=execution, user=request.user, key=request.POST.get("step", ""), decision=decision)
    except PermissionDenied as error:
        # The starter asking to approve their own run: said on the page, not a bare 403 page (a
        # viewer's PermissionDenied above, from execution_for_user, still answers 403).
        messages.error(request, str(error))
    else:
        messages.success(request, DONE.get(decision or "", "Done: the run goes on."))
    return back_to_run(request, execution.pk)


@login_required
@require_POST
@domain_errors(flash(back_to_run))
def step_skip_timer(request: HttpRequest, pk: int) -> HttpResponse:
    execution = execution_for_user(request.user, pk, RUN)
    execution_skip_timer(execution=execution, user=request.user, key=request.POST.get("step", ""))
    messages.success(request, "Timer skipped: the run goes on.")
    return back_to_run(request, execution.pk)


@login_required
@require_POST
@domain_errors(flash(_to_run_page))
def execution_retry(request: HttpRequest, pk: int) -> HttpResponse:
    execution = execution_for_user(request.user, pk, RUN)
    retry = execution_retry_from(execution=execution, user=request.user, key=request.POST.get("from", ""))
    messages.success(request, f"Retrying run #{execution.pk} from “{request.POST.get('from')}” as run #{retry.pk}.")
    response = redirect("executions:detail", pk=retry.pk)
    if request.htmx:
        # A new page, not a swap: the retry is another execution with its own socket.
        response = HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
    return response
