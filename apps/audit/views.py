"""The staff Audit page and its CSV export: thin callers of apps.audit.selectors."""

import csv
import json
from collections.abc import Callable, Iterator
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.audit.forms import AuditFilterForm
from apps.audit.selectors import audit_actions, audit_events

PAGE_SIZE = 50
CSV_COLUMNS = ["seq", "at", "actor", "action", "object_type", "object_id", "detail", "hash"]


def staff_required(view: Callable) -> Callable:
    """Signed-in non-staff get 403, never a redirect to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("The audit trail is for staff.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _filtered(request: HttpRequest):
    form = AuditFilterForm(request.GET or None)
    if not request.GET:
        return form, audit_events()
    if not form.is_valid():
        return form, None
    return form, audit_events(**form.cleaned_data)


@staff_required
@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    form, events = _filtered(request)
    context = {"form": form, "actions": audit_actions(), "nav": "audit", "page": None}
    if events is None:
        return render(request, "audit/list.html", context, status=400)
    page = Paginator(events.select_related(None), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context.update(page=page, query=query.urlencode())
    template = "audit/_events.html" if request.htmx else "audit/list.html"
    return render(request, template, context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe_cell(value) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheet apps (CSV injection).
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_rows(events) -> Iterator[str]:

    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _safe_cell(value)
                for value in (
                    event.seq,
                    event.at.isoformat(),
                    event.actor_name,
                    event.action,
                    event.object_type,
                    event.object_id,
                    json.dumps(event.detail, sort_keys=True, ensure_ascii=False),
                    event.hash,
                )
            ]
        )


@staff_required
@require_GET
def event_export(request: HttpRequest) -> HttpResponse:
    form, events = _filtered(request)
    if events is None:
        errors = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in form.errors.items())
        return HttpResponse(f"Bad filter: {errors}", status=400, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response
