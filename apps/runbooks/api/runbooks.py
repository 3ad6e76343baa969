"""REST API for runbooks: thin callers of the runbook services and selectors (DESIGN.md "Public API").

Access to one runbook always goes through `runbook_for_user` (404 for outsiders, 403 for a role
too weak); validation is the services' (InvalidInput → 400, TooLarge → 413, StaleRevision → 409 via
apps.core.api.exception_handler). This module only checks the JSON shape of a request: which
top-level fields it may carry and their JSON types.
"""

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.urls import reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api import check_query_text
from apps.core.errors import InvalidInput
from apps.runbooks.models import Block, Runbook, RunbookVersion
from apps.runbooks.roles import EDIT, SHARE, VIEW
from apps.runbooks.selectors import runbook_access_entries, runbook_for_user, runbooks_visible_to
from apps.runbooks.serializers import (
    DetailSerializer,
    PaginatedRunbookSerializer,
    RunbookAccessEntrySerializer,
    RunbookCreateSerializer,
    RunbookPatchSerializer,
    RunbookSerializer,
    StaleRevisionSerializer,
)
from apps.runbooks.services import access as access_services
from apps.runbooks.services import runbooks as runbook_services

# Well above the largest valid runbook (256 KiB description + 200 blocks), low enough that a
# runaway client cannot make a worker buffer and parse an unbounded body.

# JSON types of the writable top-level fields: (Python type, what the message calls it, null allowed).
WRITABLE_FIELDS: dict[str, tuple[type, str, bool]] = {
    "title": (str, "text", False),
    "description": (str, "text", False),
    "tags": (list, "a list of text", False),
    "environment": (int, "an environment id or null", True),
    "parameters": (list, "a list of parameters", False),
    "blocks": (list, "a list of blocks", False),
}
PATCH_FIELDS = {**WRITABLE_FIELDS, "revision": (int, "a whole number", False)}

ERRORS_400 = OpenApiResponse(OpenApiTypes.OBJECT, description="Field errors; blocks and parameters nest per item.")
ERRORS_413 = OpenApiResponse(OpenApiTypes.OBJECT, description="Over a size limit (field errors).")
DETAIL_403 = OpenApiResponse(DetailSerializer, description="Your role on this runbook does not allow that.")
DETAIL_404 = OpenApiResponse(DetailSerializer, description="No such runbook, or you may not see it.")


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents personal API tokens in /api/schema/ (and gives Swagger UI its Authorize button)."""

    target_class = "apps.accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token: `Authorization: Bearer rbk_…`.",
        }


def runbook_api_queryset(queryset: QuerySet) -> QuerySet:
    """What the runbook shape needs, in a fixed number of queries whatever the number of runbooks."""
    latest_version = RunbookVersion.objects.filter(runbook=OuterRef("pk")).order_by("-number").values("number")[:1]
    return (
        queryset.select_related("owner")
        .prefetch_related("tags", Prefetch("blocks", queryset=Block.objects.order_by("position", "pk")))
        .annotate(published_version=Subquery(latest_version))
    )


def _json_object(request: Request, fields: dict[str, tuple[type, str, bool]]) -> dict:
    """The body as a dict of known fields with the right JSON types, or InvalidInput naming the rest."""
    data = request.data
    if not isinstance(data, dict):
        raise InvalidInput({"non_field_errors": ["Send a JSON object."]})
    errors: dict[str, list[str]] = {}
    for name, value in data.items():
        if name not in fields:
            errors[name] = [f"Unknown or read-only field. Writable fields: {', '.join(fields)}."]
            continue
        expected, label, nullable = fields[name]
        if value is None and nullable:
            continue
        # bool is an int subclass in Python, but true is not an id or a revision.
        if isinstance(value, bool) or not isinstance(value, expected):
            errors[name] = [f"Expected {label}."]
    blocks = data.get("blocks")
    if "blocks" not in errors and isinstance(blocks, list):
        # validation.clean_block looks `kind` up in a dict, which a JSON list or object would turn
        # into a TypeError (a 500); answer it as the type error it is.
        kinds = [
            {"kind": ["Expected text: the block kind."]}
            if isinstance(block, dict) and not isinstance(block.get("kind", ""), str)
            else {}
            for block in blocks
        ]
        if any(kinds):
            errors["blocks"] = kinds
    if errors:
        raise InvalidInput(errors)
    return dict(data)


def _runbook_response(request: Request, runbook: Runbook, status_code: int = status.HTTP_200_OK) -> Response:
    fresh = runbook_api_queryset(Runbook.objects.all()).get(pk=runbook.pk)
    return Response(RunbookSerializer(fresh, context={"request": request}).data, status=status_code)


@extend_schema(
    operation_id="runbooks_list",
    methods=["GET"],
    summary="List the runbooks you may see",
    parameters=[
        OpenApiParameter("q", str, description="Search in title, description and tags."),
        OpenApiParameter("tag", str, description="Only runbooks with this tag."),
        OpenApiParameter("page", int, description="Page number (50 runbooks a page)."),
    ],
    responses={200: PaginatedRunbookSerializer},
)
@extend_schema(
    operation_id="runbooks_create",
    methods=["POST"],
    summary="Create a runbook (you become its owner)",
    request=RunbookCreateSerializer,
    responses={201: RunbookSerializer, 400: ERRORS_400, 413: ERRORS_413},
)
@api_view(["GET", "POST"])
def runbook_list(request: Request) -> Response:
    if request.method == "POST":
        data = _json_object(request, WRITABLE_FIELDS)
        title = data.pop("title", None)
        runbook = runbook_services.runbook_create(user=request.user, title=title, **data)
        response = _runbook_response(request, runbook, status.HTTP_201_CREATED)
        response["Location"] = reverse("runbooks-api:runbook-detail", args=[runbook.pk])
        return response
    filters = check_query_text(request, "q", "tag")
    queryset = runbooks_visible_to(request.user, q=filters["q"], tag=filters["tag"])
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(runbook_api_queryset(queryset), request)
    return paginator.get_paginated_response(RunbookSerializer(page, many=True, context={"request": request}).data)


@extend_schema(
    operation_id="runbooks_retrieve",
    methods=["GET"],
    summary="One runbook",
    responses={200: RunbookSerializer, 404: DETAIL_404},
)
@extend_schema(
    operation_id="runbooks_partial_update",
    methods=["PATCH"],
    summary="Change a runbook's draft (editors); blocks, when given, replace the ordered list",
    request=RunbookPatchSerializer,
    responses={
        200: RunbookSerializer,
        400: ERRORS_400,
        403: DETAIL_403,
        404: DETAIL_404,
        409: OpenApiResponse(StaleRevisionSerializer, description="The revision is stale; nothing was saved."),
        413: ERRORS_413,
    },
)
@extend_schema(
    operation_id="runbooks_destroy",
    methods=["DELETE"],
    summary="Archive a runbook (owners)",
    responses={204: None, 403: DETAIL_403, 404: DETAIL_404},
)
@api_view(["GET", "PATCH", "DELETE"])
def runbook_detail(request: Request, pk: int) -> Response:
    if request.method == "PATCH":
        runbook = runbook_for_user(request.user, pk, EDIT)
        changes = _json_object(request, PATCH_FIELDS)
        if "revision" not in changes:
            raise InvalidInput({"revision": ["Send the revision your change is based on (from the last answer)."]})
        revision = changes.pop("revision")
        runbook = runbook_services.runbook_update(runbook=runbook, user=request.user, revision=revision, **changes)
        return _runbook_response(request, runbook)
    if request.method == "DELETE":
        runbook = runbook_for_user(request.user, pk, SHARE)
        runbook_services.runbook_archive(runbook=runbook, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    runbook = runbook_for_user(request.user, pk, VIEW, queryset=runbook_api_queryset(Runbook.objects.active()))
    return Response(RunbookSerializer(runbook, context={"request": request}).data)


@extend_schema(
    operation_id="runbooks_access_retrieve",
    methods=["GET"],
    summary="Who holds which role on a runbook (owners)",
    responses={200: RunbookAccessEntrySerializer(many=True), 403: DETAIL_403, 404: DETAIL_404},
)
@extend_schema(
    operation_id="runbooks_access_update",
    methods=["PUT"],
    summary="Replace every role on a runbook (owners); at least one owner must remain",
    request=RunbookAccessEntrySerializer(many=True),
    responses={200: RunbookAccessEntrySerializer(many=True), 400: ERRORS_400, 403: DETAIL_403, 404: DETAIL_404},
)
@api_view(["GET", "PUT"])
def runbook_access(request: Request, pk: int) -> Response:
    runbook = runbook_for_user(request.user, pk, SHARE)
    if request.method == "PUT":
        return Response(access_services.runbook_set_access(runbook=runbook, actor=request.user, entries=request.data))
    return Response(runbook_access_entries(runbook))
