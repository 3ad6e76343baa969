"""Versions, diffs, rollback and the History tab: thin callers of apps.runbooks.versions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.errors import InvalidInput, StaleRevision
from apps.core.markdown import render_markdown
from apps.core.pages import status_of
from apps.runbooks.diffing import snapshot_diff
from apps.runbooks.roles import EDIT, SHARE
from apps.runbooks.selectors import runbook_for_user
from apps.runbooks.versions import (
    HISTORY_PAGE_SIZE,
    draft_status,
    runbook_history,
    runbook_history_count,
    runbook_publish,
    runbook_rollback,
    runbook_version_get,
    runbook_versions,
    snapshot_of,
)

DRAFT = "draft"


def _can_edit(user, runbook) -> bool:
    return user.has_perm(EDIT, runbook)


def _tab_context(request: HttpRequest, runbook, tab: str) -> dict:
    """What the shared runbook tabs need."""
    return {"runbook": runbook, "tab": tab, "can_share": request.user.has_perm(SHARE, runbook)}


def _list_context(request: HttpRequest, runbook, *, errors: dict | None = None, message: str = "") -> dict:
    versions = list(runbook_versions(runbook))
    return {
        **_tab_context(request, runbook, "versions"),
        "versions": versions,
        "current_number": versions[0].number if versions else None,
        "status": draft_status(runbook),
        "can_edit": _can_edit(request.user, runbook),
        "errors": errors or {},
        "message": message,
    }


@login_required
@require_GET
def version_list(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk)
    return render(request, "runbooks/versions/list.html", _list_context(request, runbook))


@login_required
@require_POST
def version_publish(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, EDIT)
    message = request.POST.get("message", "")
    try:
        version = runbook_publish(
            runbook=runbook, user=request.user, message=message, revision=request.POST.get("revision")
        )
    except StaleRevision as error:
        # The publish form again, with the message as typed and who changed the draft meanwhile.
        context = _list_context(request, runbook, errors={"revision": [str(error)]}, message=message)
        context["stale"] = error
        return render(request, "runbooks/versions/list.html", context, status=status_of(error))
    except InvalidInput as error:
        # The publish form again, with the message as typed and the errors next to it.
        context = _list_context(request, runbook, errors=error.errors, message=message)
        return render(request, "runbooks/versions/list.html", context, status=status_of(error))
    messages.success(request, f"Published v{version.number}.")
    return redirect("runbooks:versions", pk=runbook.pk)


@login_required
@require_GET
def version_detail(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk)
    version = runbook_version_get(runbook, number)
    latest = runbook_versions(runbook).values_list("number", flat=True).first()
    return render(
        request,
        "runbooks/versions/detail.html",
        {
            **_tab_context(request, runbook, "versions"),
            "version": version,
            "snapshot": version.snapshot,
            "description_html": render_markdown(version.snapshot.get("description", "")),
            "is_current": version.number == latest,
            "can_edit": _can_edit(request.user, runbook),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def version_rollback(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """GET asks for confirmation and a reason; POST restores."""
    runbook = runbook_for_user(request.user, pk, EDIT)
    version = runbook_version_get(runbook, number)
    context = {**_tab_context(request, runbook, "versions"), "version": version, "errors": {}, "message": ""}
    if request.method == "POST":
        context["message"] = request.POST.get("message", "")
        try:
            restored = runbook_rollback(runbook=runbook, user=request.user, number=number, message=context["message"])
        except InvalidInput as error:
            # The confirmation form again, with the reason as typed and the errors next to it.
            context["errors"] = error.errors
            return render(request, "runbooks/versions/rollback.html", context, status=status_of(error))
        messages.success(request, f"Restored v{number} as v{restored.number}; the draft now equals it.")
        return redirect("runbooks:versions", pk=runbook.pk)
    return render(request, "runbooks/versions/rollback.html", context)


def _side(runbook, value: str) -> tuple[str, dict]:
    if value == DRAFT:
        return "Draft", snapshot_of(runbook)
    version = runbook_version_get(runbook, value)
    return f"v{version.number}", version.snapshot


@login_required
@require_GET
def version_diff(request: HttpRequest, pk: int) -> HttpResponse:
    """?from=N|draft&to=N|draft; by default the latest version against the draft."""
    runbook = runbook_for_user(request.user, pk)
    numbers = list(runbook_versions(runbook).values_list("number", flat=True))
    default_from = str(numbers[0]) if numbers else DRAFT
    old_value = request.GET.get("from") or default_from
    new_value = request.GET.get("to") or DRAFT
    context = {
        **_tab_context(request, runbook, "versions"),
        "numbers": numbers,
        "from_value": old_value,
        "to_value": new_value,
    }
    try:
        context["old_label"], old = _side(runbook, old_value)
        context["new_label"], new = _side(runbook, new_value)
    except Http404:
        # Not the 404 page: the diff form stays, saying which versions there are to compare.
        context["error"] = (
            f"Choose two of this runbook's versions (1 to {numbers[0]}) or “draft”."
            if numbers
            else "Nothing is published yet: only the draft exists."
        )
        template = "runbooks/versions/_diff.html" if request.htmx else "runbooks/versions/diff.html"
        return render(request, template, context, status=404)
    context["diff"] = snapshot_diff(old, new)
    template = "runbooks/versions/_diff.html" if request.htmx else "runbooks/versions/diff.html"
    return render(request, template, context)


@login_required
@require_GET
def history(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk)
    # A Paginator over a count lets the database sort and slice; the page's rows come after.
    paginator = Paginator(range(runbook_history_count(runbook)), HISTORY_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    entries = runbook_history(runbook, offset=page.start_index() - 1 if paginator.count else 0)
    context = {
        **_tab_context(request, runbook, "history"),
        "page": page,
        "entries": entries,
        "history_url": reverse("runbooks:history", args=[runbook.pk]),
    }
    template = "runbooks/versions/_history.html" if request.htmx else "runbooks/versions/history.html"
    return render(request, template, context)
