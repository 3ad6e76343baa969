"""Authoring pages: list, create, detail, edit, archive, the Markdown preview.

Every view is a thin caller: access through runbook_for_user, writes through the services, and
the services' field errors placed next to the widgets the user typed into. The blocks editor is
blocks.py, sharing sharing.py; the Run form is the executions app's (executions/views/start.py).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.blocks.kinds import BlockKind
from apps.core.errors import InvalidInput, StaleRevision
from apps.core.markdown import markdown_excerpt, render_markdown
from apps.core.pages import status_of
from apps.runbooks.forms import ParameterRow, RunbookForm, parameter_rows_from_post
from apps.runbooks.page_context import runbook_page_extras
from apps.runbooks.roles import EDIT, SHARE, VIEW
from apps.runbooks.selectors import blocks_shown, runbook_for_user, runbook_permissions, runbooks_visible_to
from apps.runbooks.services import runbooks as runbook_services

MAX_SEARCH_LENGTH = 200


@login_required
@require_GET
def runbook_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:MAX_SEARCH_LENGTH]
    tag = request.GET.get("tag", "").strip().lower()[:50]
    paginator = Paginator(runbooks_visible_to(request.user, q=q, tag=tag), settings.RUNBOOKS_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    for runbook in page.object_list:
        runbook.excerpt = markdown_excerpt(runbook.description)
    context = {"page": page, "q": q, "tag": tag, "filtered": bool(q or tag), "nav": "runbooks"}
    # Live search swaps only the results; history navigation and no-JS get the whole page.
    if request.htmx and request.htmx.target == "results":
        return render(request, "runbooks/_results.html", context)
    return render(request, "runbooks/list.html", context)


def _runbook_input(data, rows: list[ParameterRow]) -> dict:
    return {
        "title": data.get("title", ""),
        "description": data.get("description", ""),
        # The services take a list (a string would be read letter by letter).
        "tags": data.get("tags", "").split(","),
        "environment": data.get("environment") or None,
        "parameters": [row.as_parameter() for row in rows],
    }


def _place_errors(error: InvalidInput, rows: list[ParameterRow]) -> dict:
    """Field errors for the template; per-parameter errors go onto their rows."""
    errors = dict(error.errors)
    parameter_errors = errors.pop("parameters", None)
    if isinstance(parameter_errors, list) and all(isinstance(item, dict) for item in parameter_errors):
        for row, row_errors in zip(rows, parameter_errors, strict=False):
            row.errors = row_errors
        if any(parameter_errors):
            errors["parameters"] = ["Fix the highlighted parameters."]
    elif parameter_errors:
        errors["parameters"] = parameter_errors
    return errors


def _runbook_form_page(request, *, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {"nav": "runbooks", **context}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def runbook_create(request: HttpRequest) -> HttpResponse:
    errors: dict = {}
    status = 200
    if request.method == "POST":
        form = RunbookForm(data=request.POST)
        rows = [row for row in parameter_rows_from_post(request.POST) if not row.is_blank()]
        if "add_parameter" in request.POST:
            # The no-JavaScript way to get another parameter row: re-show the form, save nothing.
            rows.append(ParameterRow())
        else:
            try:
                runbook = runbook_services.runbook_create(user=request.user, **_runbook_input(request.POST, rows))
            except InvalidInput as error:
                # The form again, with each error next to its field or parameter row.
                errors, status = _place_errors(error, rows), status_of(error)
            else:
                messages.success(request, f"Created “{runbook.title}”. Add its blocks below.")
                return redirect("runbooks:detail", pk=runbook.pk)
    else:
        form = RunbookForm()
        rows = []
    return _runbook_form_page(
        request,
        template="runbooks/form.html",
        context={"form": form, "rows": rows, "errors": errors, "runbook": None},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def runbook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, EDIT)
    errors: dict = {}
    conflict = None
    status = 200
    if request.method == "POST":
        form = RunbookForm(data=request.POST, with_revision=True, runbook=runbook)
        rows = [row for row in parameter_rows_from_post(request.POST) if not row.is_blank()]
        if "add_parameter" in request.POST:
            rows.append(ParameterRow())
        else:
            try:
                runbook_services.runbook_update(
                    runbook=runbook,
                    user=request.user,
                    revision=request.POST.get("revision"),
                    **_runbook_input(request.POST, rows),
                )
            except StaleRevision as stale:
                # Nothing was saved; the form keeps what the user typed (and the old revision, so
                # re-submitting cannot silently overwrite the other person's change).
                conflict, status = stale, status_of(stale)
            except InvalidInput as error:
                # The form again, with each error next to its field or parameter row.
                errors, status = _place_errors(error, rows), status_of(error)
            else:
                messages.success(request, "Saved.")
                return redirect("runbooks:detail", pk=runbook.pk)
    else:
        form = RunbookForm(initial=RunbookForm.initial_for(runbook), with_revision=True, runbook=runbook)
        rows = [ParameterRow.from_parameter(parameter) for parameter in runbook.parameters]
    return _runbook_form_page(
        request,
        template="runbooks/form.html",
        context={"form": form, "rows": rows, "errors": errors, "runbook": runbook, "conflict": conflict},
        status=status,
    )


@login_required
@require_GET
def parameter_row(request: HttpRequest) -> HttpResponse:
    return render(request, "runbooks/_parameter_row.html", {"row": ParameterRow()})


@login_required
@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    field = request.GET.get("field", "description")
    source = request.POST.get(field, "")
    limit = settings.RUNBOOKS_MAX_DESCRIPTION_BYTES
    if len(source.encode("utf-8")) > limit:
        return HttpResponse(
            format_html('<p class="errorlist">Too long to preview: the limit is {} bytes.</p>', f"{limit:,}")
        )
    if not source.strip():
        return HttpResponse('<p class="muted">Nothing to preview yet.</p>')
    return HttpResponse(render_markdown(source))


@login_required
@require_GET
def runbook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, VIEW)
    context = {
        "runbook": runbook,
        "blocks": blocks_shown(runbook.blocks.all()),
        "block_kinds": BlockKind.choices,
        "tab": "blocks",
        "nav": "runbooks",
        **runbook_page_extras(request.user, runbook),
        **runbook_permissions(request.user, runbook),
    }
    return render(request, "runbooks/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def runbook_archive(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, SHARE)
    if request.method == "POST":
        runbook_services.runbook_archive(runbook=runbook, user=request.user)
        messages.success(request, f"Archived “{runbook.title}”. Its history and executions are kept.")
        return redirect("runbooks:list")
    return render(request, "runbooks/archive_confirm.html", {"runbook": runbook, "nav": "runbooks"})
