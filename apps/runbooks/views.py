"""Authoring pages: list, create, detail, edit, archive, share. Blocks editor in views_blocks.py.

Every view is a thin caller: access through runbook_for_user, writes through the services, and
the services' field errors placed next to the widgets the user typed into.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.blocks.kinds import BlockKind
from apps.core.errors import InvalidInput, ServiceUnavailable, StaleRevision, TooLarge
from apps.core.markdown import markdown_excerpt, render_markdown
from apps.core.sharing import Sharing, sharing_change, sharing_grant, sharing_page
from apps.executions.run_controls import (
    BLOCK_FIELD,
    DRAFT,
    PARAM_PREFIX,
    VERSION_FIELD,
    parameters_for,
    run_controls_for,
)
from apps.executions.services.start import execution_start
from apps.runbooks.forms import ParameterRow, RunbookForm, parameter_rows_from_post
from apps.runbooks.roles import EDIT, ROLES, RUN, SHARE, VIEW, Role
from apps.runbooks.selectors import (
    blocks_shown,
    runbook_for_user,
    runbook_role_of,
    runbooks_visible_to,
)
from apps.runbooks.services import access as access_services
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
                errors = _place_errors(error, rows)
                status = 413 if isinstance(error, TooLarge) else 400
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
                conflict, status = stale, 409
            except InvalidInput as error:
                errors = _place_errors(error, rows)
                status = 413 if isinstance(error, TooLarge) else 400
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


def runbook_permissions(user, runbook) -> dict:
    role = runbook_role_of(user, runbook)
    return {
        "role": role,
        "can_edit": role in (Role.EDITOR, Role.OWNER),
        "can_share": role == Role.OWNER,
    }


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
        "run": run_controls_for(request.user, runbook),
        **runbook_permissions(request.user, runbook),
    }
    return render(request, "runbooks/detail.html", context)


def _run_errors(error: InvalidInput) -> tuple[dict, list[str]]:
    """(errors per parameter name, errors for the whole run) from execution_start's field errors."""
    by_parameter: dict = {}
    general: list[str] = []
    for field, problems in error.errors.items():
        if field == "params" and isinstance(problems, dict):
            for name, messages_ in problems.items():
                if name == "non_field_errors":
                    general.extend(str(message) for message in messages_)
                else:
                    by_parameter[name] = [str(message) for message in messages_]
        else:
            general.extend(str(message) for message in (problems if isinstance(problems, list) else [problems]))
    return by_parameter, general


@login_required
@require_http_methods(["GET", "POST"])
def runbook_run(request: HttpRequest, pk: int) -> HttpResponse:
    """The parameters form of a run. GET only shows it (pre-filled from ?NAME=value deep links from
    alerts) and never runs anything; POST starts the run and leads to the execution page."""
    runbook = runbook_for_user(request.user, pk, RUN)
    run = run_controls_for(request.user, runbook)
    data = request.POST if request.method == "POST" else request.GET
    version = data.get(VERSION_FIELD, run.default_version)
    if version not in (choice for choice, _ in run.choices):
        version = run.default_version
    block = data.get(BLOCK_FIELD, "")
    parameters = parameters_for(runbook, run, version)
    if request.method == "POST":
        values = {
            key[len(PARAM_PREFIX) :]: value for key, value in request.POST.items() if key.startswith(PARAM_PREFIX)
        }
    else:
        values = {
            parameter["name"]: request.GET[parameter["name"]]
            for parameter in parameters
            if parameter["name"] in request.GET
        }
    param_errors: dict = {}
    errors: list[str] = []
    status = 200
    if request.method == "POST" and not run.enabled:
        errors, status = [run.disabled_reason], 400
    elif request.method == "POST":
        try:
            execution = execution_start(
                runbook=runbook,
                user=request.user,
                params=values,
                block=block or None,
                version=DRAFT if version == DRAFT else None,
            )
        except InvalidInput as error:
            param_errors, errors = _run_errors(error)
            status = 400
        except ServiceUnavailable as error:
            errors, status = [str(error)], 503
        else:
            return redirect("executions:detail", pk=execution.pk)
    known = {parameter["name"] for parameter in parameters}
    errors += [f"{name}: {' '.join(problems)}" for name, problems in param_errors.items() if name not in known]
    fields = [
        {
            **parameter,
            "value": values.get(parameter["name"], parameter.get("default") or ""),
            "errors": param_errors.get(parameter["name"], []),
        }
        for parameter in parameters
    ]
    context = {
        "runbook": runbook,
        "run": run,
        "version": version,
        # Not "block": inside {% block %} tags Django's context names the template block that way.
        "block_key": block,
        "fields": fields,
        "errors": errors,
        "nav": "runbooks",
        "block_field": BLOCK_FIELD,
        "version_field": VERSION_FIELD,
        "param_prefix": PARAM_PREFIX,
    }
    return render(request, "runbooks/run.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def runbook_archive(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, SHARE)
    if request.method == "POST":
        runbook_services.runbook_archive(runbook=runbook, user=request.user)
        messages.success(request, f"Archived “{runbook.title}”. Its history and executions are kept.")
        return redirect("runbooks:list")
    return render(request, "runbooks/archive_confirm.html", {"runbook": runbook, "nav": "runbooks"})


# Sharing ---------------------------------------------------------------------------------------


def _sharing(request: HttpRequest, runbook) -> Sharing:
    return Sharing(
        obj=runbook,
        scheme=ROLES,
        roles=Role.choices,
        grant=lambda principal, role: access_services.runbook_grant(
            runbook=runbook, actor=request.user, principal=principal, role=role
        ),
        dom_id="access",
        grant_url=reverse("runbooks:share_grant", args=[runbook.pk]),
        change_url=reverse("runbooks:share_change", args=[runbook.pk]),
        page_url=reverse("runbooks:share", args=[runbook.pk]),
        page_template="runbooks/share.html",
        context={"runbook": runbook},
        page_context=lambda: {"tab": "share", "nav": "runbooks", **runbook_permissions(request.user, runbook)},
    )


@login_required
@require_GET
def runbook_share(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, SHARE)
    return sharing_page(request, _sharing(request, runbook))


@login_required
@require_POST
def share_grant(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, SHARE)
    return sharing_grant(request, _sharing(request, runbook))


@login_required
@require_POST
def share_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Change one grant's role, or revoke it (the Revoke button posts role="")."""
    runbook = runbook_for_user(request.user, pk, SHARE)
    return sharing_change(request, _sharing(request, runbook))
