"""Pages for runbook files: download, upload as a new runbook, upload over a draft with a preview.

Thin callers of apps.runbooks.exchange.services. Importing over a draft takes two steps: the
upload shows the same block diff as versions do (a dry run of the very update), and only the
confirm form, which carries the file and the revision that diff was made against, saves.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from apps.core.errors import InvalidInput, StaleRevision
from apps.core.pages import status_of
from apps.runbooks.exchange.format.schema import Problem
from apps.runbooks.exchange.services import (
    DRAFT,
    ImportTooLarge,
    max_import_bytes,
    read_file,
    runbook_export,
    runbook_file_name,
    runbook_import_create,
    runbook_import_replace,
)
from apps.runbooks.roles import EDIT, SHARE, VIEW
from apps.runbooks.selectors import runbook_for_user


def _uploaded_text(request: HttpRequest) -> str:
    """The uploaded file, or the pasted text when no file was chosen."""
    upload = request.FILES.get("file")
    if upload is not None:
        if upload.size is not None and upload.size > max_import_bytes():
            raise ImportTooLarge([Problem(None, f"The file is over the {max_import_bytes():,}-byte limit.")])
        return read_file(upload.read(max_import_bytes() + 1))
    return read_file(request.POST.get("text", "").encode("utf-8"))


def _refused(request: HttpRequest, template: str, context: dict, error: InvalidInput) -> HttpResponse:
    problems = getattr(error, "problems", None) or [
        Problem(None, f"{name}: {message}") for name, value in error.errors.items() for message in value
    ]
    status = 413 if isinstance(error, ImportTooLarge) else 400
    return render(request, template, {**context, "problems": problems}, status=status)


@login_required
@require_GET
def runbook_download(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, VIEW)
    text = runbook_export(runbook=runbook, version=request.GET.get("version") or DRAFT)
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{runbook_file_name(runbook)}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def runbook_import(request: HttpRequest) -> HttpResponse:
    """Upload a file as a new runbook (a new uuid, like POST /api/v1/runbooks/import)."""
    context = {"nav": "runbooks", "limit": max_import_bytes()}
    if request.method == "GET":
        return render(request, "runbooks/exchange/import.html", context)
    try:
        runbook = runbook_import_create(user=request.user, text=_uploaded_text(request), source="page")
    except InvalidInput as error:
        # The upload form again, with each problem at its line of the file.
        return _refused(request, "runbooks/exchange/import.html", context, error)
    messages.success(request, f"Imported “{runbook.title}” as a new runbook.")
    return redirect("runbooks:detail", pk=runbook.pk)


@login_required
@require_http_methods(["GET", "POST"])
def runbook_import_over(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the upload form. POST a file: the diff against the draft. POST confirm: save."""
    runbook = runbook_for_user(request.user, pk, EDIT)
    context = {
        "runbook": runbook, "tab": "blocks", "nav": "runbooks", "limit": max_import_bytes(),
        "can_share": request.user.has_perm(SHARE, runbook),
    }  # fmt: skip
    template = "runbooks/exchange/import_over.html"
    if request.method == "GET":
        return render(request, template, context)
    confirm = request.POST.get("confirm") == "1"
    revision = request.POST.get("revision") or runbook.revision
    try:
        text = _uploaded_text(request)
        result = runbook_import_replace(
            user=request.user, runbook=runbook, text=text, revision=revision, dry_run=not confirm
        )
    except StaleRevision as stale:
        # The upload form again, saying who changed the draft since the diff was shown.
        return render(request, template, {**context, "conflict": stale}, status=status_of(stale))
    except InvalidInput as error:
        # The upload form again, with each problem at its line of the file.
        return _refused(request, template, context, error)
    if confirm:
        if result.saved:
            messages.success(request, f"Imported the file over the draft (now revision {result.runbook.revision}).")
        else:
            messages.info(request, "The file equals the draft: nothing changed.")
        return redirect("runbooks:detail", pk=runbook.pk)
    return render(
        request,
        template,
        {
            **context,
            "diff": result.diff,
            "old_label": "Draft",
            "new_label": "File",
            "text": text,
            "revision": revision,
        },
    )
