"""The blocks editor on a runbook's page: add, edit, delete, move and reorder blocks with HTMX.

Every block form sends the page's one `#runbook-revision` (hx-include); every successful answer
carries an out-of-band update of it, so the next edit on the same page is not refused as stale.
Without JavaScript the same URLs answer full pages and redirects.
"""

import re
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from apps.blocks.kinds import KIND_FORMS, BlockKind
from apps.core.errors import InvalidInput, StaleRevision
from apps.core.pages import domain_errors, status_of
from apps.runbooks import validation
from apps.runbooks.forms import block_forms
from apps.runbooks.models import Block, Runbook
from apps.runbooks.roles import EDIT, VIEW
from apps.runbooks.selectors import blocks_shown, runbook_for_user
from apps.runbooks.services import blocks as block_services

NEW_PREFIX_RE = re.compile(r"^new-[0-9a-f]{8}$")
META_FIELDS = ("key", "title")


def _detail_url(runbook: Runbook, block: Block | None = None) -> str:
    url = reverse("runbooks:detail", args=[runbook.pk])
    return f"{url}#block-{block.pk}" if block is not None else url


def _revision_oob(request, runbook: Runbook) -> str:
    return render_to_string("runbooks/_revision.html", {"runbook": runbook, "oob": True}, request=request)


def _block_view(request, runbook: Runbook, block: Block) -> HttpResponse:
    html = render_to_string(
        "runbooks/_block.html",
        {"runbook": runbook, "block": blocks_shown([block])[0], "can_edit": True},
        request=request,
    )
    return HttpResponse(html + _revision_oob(request, runbook))


def _blocks_list(request, runbook: Runbook) -> HttpResponse:
    html = render_to_string(
        "runbooks/_blocks.html",
        {"runbook": runbook, "blocks": blocks_shown(runbook.blocks.all()), "can_edit": True},
        request=request,
    )
    return HttpResponse(html + _revision_oob(request, runbook))


def _place_block_errors(errors: dict, meta, kind_form, block_key: str | None) -> list[str]:
    """Put service errors next to their fields; what has no field becomes a form-level message."""
    general: list[str] = []
    for name, value in errors.items():
        if name in META_FIELDS:
            meta.add_error(name, value)
        elif name in kind_form.fields:
            kind_form.add_error(name, value)
        elif name == "blocks" and isinstance(value, list):
            # Whole-runbook rules (forward gotos) answer one entry per block, in runbook order.
            for entry in value:
                if isinstance(entry, dict):
                    for field, problems in (entry.get("config") or {}).items():
                        if field in kind_form.fields:
                            kind_form.add_error(field, problems)
                        else:
                            general.extend(problems)
                elif isinstance(entry, str):
                    general.append(entry)
        else:
            general.extend(value if isinstance(value, list) else [str(value)])
    return general


def _name_the_parameters(kind_form, runbook: Runbook) -> None:
    """A script's help lists this runbook's own parameter variables: `$HOST` is a natural mistake."""
    names = [parameter.get("name") for parameter in runbook.parameters or [] if parameter.get("name")]
    if "script" in kind_form.fields and names:
        variables = ", ".join(f"$RB_PARAM_{name.upper()}" for name in names)
        kind_form.fields["script"].help_text += f" This runbook's parameters: {variables}."


def _form_response(request, context: dict, *, status: int = 200, page_title: str = "") -> HttpResponse:
    _name_the_parameters(context["kind_form"], context["runbook"])
    context = {"htmx": bool(request.htmx), "kind_label": BlockKind(context["kind"]).label, **context}
    if request.htmx:
        return render(request, "runbooks/_block_form.html", context, status=status)
    return render(
        request,
        "runbooks/block_form_page.html",
        {**context, "form_block": context["block"], "page_title": page_title},
        status=status,
    )


def _bind_and_check(meta, kind_form, runbook: Runbook, block: Block | None = None) -> bool:
    # Both forms validate so every problem shows at once, not one round-trip per field. The key's
    # rules are the service's (which still decides on save), asked here too so a bad or taken key
    # is not reported only once the other fields are fixed.
    meta_ok = meta.is_valid()
    kind_ok = kind_form.is_valid()
    key = meta.cleaned_data.get("key", "").strip() if meta_ok else ""
    if key:
        clashes = runbook.blocks.filter(key=key)
        if block is not None:
            clashes = clashes.exclude(pk=block.pk)
        try:
            validation.clean_block_key(key)
        except InvalidInput as error:  # the form's own check: the error joins the other fields' errors
            meta.add_error("key", error.errors["key"])
            meta_ok = False
        else:
            if clashes.exists():
                meta.add_error("key", f"The key “{key}” is used by another block.")
                meta_ok = False
    return meta_ok and kind_ok


def _error_status(kind_form, error: Exception | None = None) -> int:
    if error is not None:
        return status_of(error)
    if any(kind_form.has_error(name, code="too_large") for name in kind_form.fields):
        return 413
    return 400


@login_required
@require_GET
def block_new(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, EDIT)
    kind = request.GET.get("kind", "")
    if kind not in KIND_FORMS:
        return render(
            request,
            "runbooks/_unknown_kind.html",
            {"kind": kind, "kinds": BlockKind.choices, "runbook": runbook},
            status=400,
        )
    prefix = f"new-{secrets.token_hex(4)}"
    meta, kind_form = block_forms(kind=kind, prefix=prefix, user=request.user)
    context = {"runbook": runbook, "block": None, "kind": kind, "prefix": prefix, "meta": meta, "kind_form": kind_form}
    return _form_response(request, context, page_title=f"New {BlockKind(kind).label.lower()} block")


@login_required
@require_POST
def block_create(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, EDIT)
    kind = request.POST.get("kind", "")
    prefix = request.POST.get("prefix", "")
    if kind not in KIND_FORMS or not NEW_PREFIX_RE.match(prefix):
        return render(
            request,
            "runbooks/_unknown_kind.html",
            {"kind": kind, "kinds": BlockKind.choices, "runbook": runbook},
            status=400,
        )
    meta, kind_form = block_forms(kind=kind, prefix=prefix, data=request.POST, user=request.user)
    context = {"runbook": runbook, "block": None, "kind": kind, "prefix": prefix, "meta": meta, "kind_form": kind_form}
    title = f"New {BlockKind(kind).label.lower()} block"
    if not _bind_and_check(meta, kind_form, runbook):
        return _form_response(request, context, status=_error_status(kind_form), page_title=title)
    try:
        block = block_services.block_create(
            runbook=runbook,
            user=request.user,
            revision=request.POST.get("revision"),
            kind=kind,
            key=meta.cleaned_data["key"].strip(),
            title=meta.cleaned_data["title"],
            config=kind_form.config(),
        )
    except StaleRevision as stale:
        # The form again, as typed, with who changed the runbook meanwhile.
        return _form_response(request, {**context, "conflict": stale}, status=status_of(stale), page_title=title)
    except InvalidInput as error:
        # The form again, each error next to its field.
        context["general_errors"] = _place_block_errors(error.errors, meta, kind_form, None)
        return _form_response(request, context, status=_error_status(kind_form, error), page_title=title)
    if not request.htmx:
        messages.success(request, f"Added block “{block.key}”.")
        return HttpResponseRedirect(_detail_url(runbook, block))
    return _block_view(request, runbook, block)


def _problems_response(request, runbook: Runbook, error: InvalidInput) -> HttpResponse:
    """A refused list-level change (reorder, move, delete), shown in the blocks status line."""
    problems = [message for value in error.errors.values() for message in value]
    response = render(request, "runbooks/_conflict.html", {"problems": problems, "runbook": runbook}, status=400)
    return reswap(retarget(response, "#blocks-status"), "innerHTML")


def _block_for(request, pk: int, block_pk: int, perm: str = EDIT) -> tuple[Runbook, Block]:
    runbook = runbook_for_user(request.user, pk, perm)
    # Through the runbook's manager: a block id of another runbook is a 404, and block.runbook is
    # this very instance, so the revision the service bumps is the one the answer shows.
    block = get_object_or_404(runbook.blocks.all(), pk=block_pk)
    return runbook, block


@login_required
@require_GET
def block_detail(request: HttpRequest, pk: int, block_pk: int) -> HttpResponse:
    """One block rendered (the Cancel of an inline edit form)."""
    runbook, block = _block_for(request, pk, block_pk, VIEW)
    if not request.htmx:
        return HttpResponseRedirect(_detail_url(runbook, block))
    can_edit = request.user.has_perm(EDIT, runbook)
    context = {"runbook": runbook, "block": blocks_shown([block])[0], "can_edit": can_edit}
    return render(request, "runbooks/_block.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def block_edit(request: HttpRequest, pk: int, block_pk: int) -> HttpResponse:
    runbook, block = _block_for(request, pk, block_pk)
    prefix = f"block-{block.pk}"
    data = request.POST if request.method == "POST" else None
    meta, kind_form = block_forms(kind=block.kind, prefix=prefix, block=block, data=data, user=request.user)
    context = {
        "runbook": runbook, "block": block, "kind": block.kind, "prefix": prefix, "meta": meta, "kind_form": kind_form,
    }  # fmt: skip
    title = f"Edit block “{block.key}”"
    if request.method == "GET":
        return _form_response(request, context, page_title=title)
    if not _bind_and_check(meta, kind_form, runbook, block):
        return _form_response(request, context, status=_error_status(kind_form), page_title=title)
    try:
        block_services.block_update(
            block=block,
            user=request.user,
            revision=request.POST.get("revision"),
            key=meta.cleaned_data["key"].strip(),
            title=meta.cleaned_data["title"],
            config=kind_form.config(),
        )
    except StaleRevision as stale:
        # The form again, as typed, with who changed the runbook meanwhile.
        return _form_response(request, {**context, "conflict": stale}, status=status_of(stale), page_title=title)
    except InvalidInput as error:
        # The form again, each error next to its field.
        block.refresh_from_db()  # the service may have changed the instance before rolling back
        context["general_errors"] = _place_block_errors(error.errors, meta, kind_form, block.key)
        return _form_response(request, context, status=_error_status(kind_form, error), page_title=title)
    if not request.htmx:
        messages.success(request, f"Saved block “{block.key}”.")
        return HttpResponseRedirect(_detail_url(runbook, block))
    return _block_view(request, runbook, block)


def _conflict_response(request, runbook: Runbook, stale: StaleRevision) -> HttpResponse:
    if not request.htmx:
        messages.error(
            request,
            f"Nothing was changed: this runbook was changed by {stale.changed_by or 'someone'} since you opened it. "
            "This is the current state.",
        )
        return HttpResponseRedirect(_detail_url(runbook))
    response = render(request, "runbooks/_conflict.html", {"conflict": stale, "runbook": runbook}, status=409)
    # The conflict goes to the page's status area; the blocks stay as the user sees them.
    return reswap(retarget(response, "#blocks-status"), "innerHTML")


def _list_change_refused(request, error: Exception, pk: int, **_) -> HttpResponse:
    """A list-level change (delete, move, reorder) the service refused: stale → the conflict, else the problems.

    Nothing was changed, so the runbook is read again as it is now.
    """
    runbook = runbook_for_user(request.user, pk, EDIT)
    if isinstance(error, StaleRevision):
        return _conflict_response(request, runbook, error)
    return _problems_response(request, runbook, error)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors(_list_change_refused)
def block_delete(request: HttpRequest, pk: int, block_pk: int) -> HttpResponse:
    runbook, block = _block_for(request, pk, block_pk)
    if request.method == "GET":
        # The no-JavaScript confirmation; with HTMX the browser's hx-confirm asks instead.
        return render(request, "runbooks/block_confirm_delete.html", {"runbook": runbook, "doomed": block})
    key = block.key
    block_services.block_delete(block=block, user=request.user, revision=request.POST.get("revision"))
    if not request.htmx:
        messages.success(request, f"Deleted block “{key}”.")
        return HttpResponseRedirect(_detail_url(runbook))
    # The empty main content removes the block's element; the revision updates out of band.
    return HttpResponse(_revision_oob(request, runbook))


@login_required
@require_POST
@domain_errors(_list_change_refused)
def block_move(request: HttpRequest, pk: int, block_pk: int) -> HttpResponse:
    runbook, block = _block_for(request, pk, block_pk)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        refusal = InvalidInput({"direction": ["Choose direction up or down."]})
        if request.htmx:
            return _problems_response(request, runbook, refusal)
        return HttpResponse("Choose direction up or down.", status=400)
    # Without JavaScript the page's #runbook-revision is not sent; the form's own copy stands in.
    revision = request.POST.get("revision", request.POST.get("fallback_revision"))
    block_services.block_move(block=block, user=request.user, revision=revision, offset=offset)
    if not request.htmx:
        return HttpResponseRedirect(_detail_url(runbook, block))
    return _blocks_list(request, runbook)


@login_required
@require_POST
@domain_errors(_list_change_refused)
def blocks_reorder(request: HttpRequest, pk: int) -> HttpResponse:
    """The drag-and-drop endpoint: `order` is every block key, comma-separated, in the new order."""
    runbook = runbook_for_user(request.user, pk, EDIT)
    keys = [key for key in request.POST.get("order", "").split(",") if key]
    block_services.blocks_reorder(runbook=runbook, user=request.user, revision=request.POST.get("revision"), keys=keys)
    if not request.htmx:
        return HttpResponseRedirect(_detail_url(runbook))
    return _blocks_list(request, runbook)
