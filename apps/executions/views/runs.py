"""Execution pages: history (overall and per runbook), one execution with its steps, cancel.

Access always through execution_for_user / executions_visible_to: the runbook's role decides.
"""

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from apps.core.pages import domain_errors, flash
from apps.executions.actions import step_actions_for
from apps.executions.forms import HistoryFilterForm
from apps.executions.fragments import duration_of
from apps.executions.models import Execution
from apps.executions.rules import may_cancel
from apps.executions.selectors import (
    execution_for_user,
    execution_queue_position,
    execution_steps,
    executions_visible_to,
)
from apps.executions.services.cancel import execution_cancel
from apps.runbooks.roles import RUN, VIEW
from apps.runbooks.selectors import runbook_for_user, runbook_permissions, runbooks_visible_to

User = get_user_model()
# What the runbook filter offers; a longer list is better served by the runbook's own Runs tab.
MAX_RUNBOOK_CHOICES = 300


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@login_required
@require_GET
def execution_list(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    filters: dict = {}
    unknown_person = ""
    runbook = None
    if form.is_valid():
        data = form.cleaned_data
        filters["status"] = data["status"] or None
        if data["runbook"]:
            filters["runbook"] = data["runbook"]
            try:
                runbook = runbook_for_user(request.user, data["runbook"], VIEW)
            except Http404:
                runbook = None  # archived or not visible: the list itself still says what is visible
        if data["person"]:
            person = User.objects.filter(**{User.USERNAME_FIELD: data["person"].strip()}).first()
            if person is None:
                unknown_person = data["person"]
            filters["triggered_by"] = person.pk if person else -1
        if data["since"]:
            filters["since"] = _start_of_day(data["since"])
        if data["until"]:
            filters["until"] = _start_of_day(data["until"] + datetime.timedelta(days=1))
        queryset = executions_visible_to(request.user, **filters)
    else:
        queryset = Execution.objects.none()
    paginator = Paginator(queryset, settings.RUNBOOKS_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [(execution, duration_of(execution.started_at, execution.finished_at)) for execution in page]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "filtered": any(value for key, value in request.GET.items() if key != "page"),
        "unknown_person": unknown_person,
        "runbook": runbook,
        "runbook_choices": runbooks_visible_to(request.user)
        .select_related(None)
        .prefetch_related(None)
        .only("pk", "title")[:MAX_RUNBOOK_CHOICES],
        "nav": "executions",
    }
    if runbook is not None:
        context.update({"tab": "runs", **runbook_permissions(request.user, runbook)})
    if request.htmx and request.htmx.target == "execution-results":
        return render(request, "executions/_results.html", context)
    return render(request, "executions/list.html", context)


def _step_views(execution: Execution, user) -> list[dict]:
    blocks = {block["key"]: block for block in (execution.snapshot or {}).get("blocks", [])}
    views = []
    for step in execution_steps(execution):
        block = blocks.get(step.block_key, {})
        item = {"step": step, "duration": duration_of(step.started_at, step.finished_at), "block": block}
        item["actions"] = step_actions_for(user=user, execution=execution, step=step)
        if step.kind == "instruction":
            item["markdown"] = (block.get("config") or {}).get("markdown", "")
        # Output panes read their own backlog (the live_output tag), so only what the page shows is loaded.
        views.append(item)
    return views


def detail_context(request: HttpRequest, execution: Execution) -> dict:
    """What the run's page and its region partial show; the buttons (gates.py) answer with the region too."""
    return {
        "execution": execution,
        "steps": _step_views(execution, request.user),
        "duration": duration_of(execution.started_at, execution.finished_at),
        "can_cancel": may_cancel(request.user, execution),
        "queue_position": execution_queue_position(execution),
        "nav": "executions",
    }


@login_required
@require_GET
def execution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    execution = execution_for_user(request.user, pk)
    context = detail_context(request, execution)
    # The page script's fallback poll (only while the socket cannot connect) asks for the region alone.
    if request.htmx and request.htmx.target == f"execution-{execution.pk}":
        return render(request, "executions/_execution.html", context)
    return render(request, "executions/detail.html", context)


def back_to_run(request: HttpRequest, pk: int, **_) -> HttpResponse:
    """Where a run's buttons lead: its region re-rendered for htmx, else its page (with the messages)."""
    if request.htmx:
        execution = execution_for_user(request.user, pk)
        return render(request, "executions/_execution.html", detail_context(request, execution))
    return redirect("executions:detail", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors(flash(back_to_run))
def execution_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    execution = execution_for_user(request.user, pk, RUN)
    if request.method == "POST":
        execution_cancel(execution=execution, user=request.user)
        if execution.is_final:
            messages.success(request, "Cancelled.")
        else:
            messages.success(request, "Cancel requested: the running step is being stopped.")
        return back_to_run(request, execution.pk)
    return render(request, "executions/cancel_confirm.html", {"execution": execution, "nav": "executions"})
