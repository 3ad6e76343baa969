"""API of runbook files: export, import as a new runbook, import over a draft (DESIGN.md
"Automation and runbooks as code"). Thin callers of apps.runbooks.exchange.services.

Bodies are the Markdown file itself (`text/markdown`, or `text/plain`), read by MarkdownParser
up to the import size limit; refusals answer 400 (413 when too large) with
{"errors": [{"line", "message"}]}.
"""

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, renderer_classes
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import InvalidInput
from apps.runbooks.api.runbooks import runbook_api_queryset
from apps.runbooks.exchange.format.schema import Problem
from apps.runbooks.exchange.services import (
    DRAFT,
    ImportTooLarge,
    diff_as_json,
    max_import_bytes,
    read_file,
    runbook_export,
    runbook_file_name,
    runbook_import_create,
    runbook_import_replace,
)
from apps.runbooks.models import Runbook
from apps.runbooks.roles import EDIT, VIEW
from apps.runbooks.selectors import runbook_for_user
from apps.runbooks.serializers import RunbookSerializer

MARKDOWN = "text/markdown"


class MarkdownParser(BaseParser):
    """The body as text, never more than the import limit read into memory (like LimitedJSONParser)."""

    media_type = MARKDOWN

    def parse(self, stream, media_type=None, parser_context=None) -> str:
        request = (parser_context or {}).get("request")
        limit = max_import_bytes()
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        too_large = ImportTooLarge([Problem(None, f"The file is over the {limit:,}-byte limit.")])
        try:
            if declared and int(declared) > limit:
                raise too_large
        except ValueError:
            pass
        raw = stream.read(limit + 1) if stream is not None else b""
        return read_file(raw)


class PlainTextParser(MarkdownParser):
    media_type = "text/plain"


class MarkdownRenderer(BaseRenderer):
    """So `Accept: text/markdown` is served; errors still render as JSON text."""

    media_type = MARKDOWN
    format = "md"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode("utf-8")
        return JSONRenderer().render(data)


class ImportProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True)
    message = serializers.CharField()


class ImportErrorsSerializer(serializers.Serializer):
    errors = ImportProblemSerializer(many=True)


ERRORS = OpenApiResponse(
    ImportErrorsSerializer,
    description="The file was refused as a whole, with every problem and its line; nothing was saved.",
)
MARKDOWN_BODY = {MARKDOWN: {"type": "string", "description": "A runbook file (docs/runbook-format.md)."}}


def _runbook_response(request: Request, runbook: Runbook, status_code: int) -> Response:
    fresh = runbook_api_queryset(Runbook.objects.all()).get(pk=runbook.pk)
    return Response(RunbookSerializer(fresh, context={"request": request}).data, status=status_code)


def _text(request: Request) -> str:
    data = request.data
    if not isinstance(data, str):
        # An empty body has no content type; DRF hands its empty QueryDict over.
        return ""
    return data


@extend_schema(
    operation_id="runbooks_export",
    summary="A runbook's draft or version as a Markdown file",
    parameters=[OpenApiParameter("version", str, description="A version number, or “draft” (the default).")],
    responses={(200, MARKDOWN): OpenApiTypes.STR, 404: OpenApiResponse(description="No such runbook or version.")},
)
@api_view(["GET"])
@renderer_classes([JSONRenderer, MarkdownRenderer])
def runbook_export_view(request: Request, pk: int) -> HttpResponse:
    # Viewers see the draft on the runbook page, so they may export it as well as any version.
    runbook = runbook_for_user(request.user, pk, VIEW)
    text = runbook_export(runbook=runbook, version=request.query_params.get("version") or DRAFT)
    response = HttpResponse(text, content_type=f"{MARKDOWN}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{runbook_file_name(runbook)}"'
    return response


@extend_schema(
    operation_id="runbooks_import",
    summary="Create a runbook from a Markdown file (always a new runbook, with a new uuid)",
    request=MARKDOWN_BODY,
    responses={201: RunbookSerializer, 400: ERRORS, 413: ERRORS},
)
@api_view(["POST"])
@parser_classes([MarkdownParser, PlainTextParser])
def runbook_import_view(request: Request) -> Response:
    runbook = runbook_import_create(user=request.user, text=_text(request))
    response = _runbook_response(request, runbook, status.HTTP_201_CREATED)
    response["Location"] = reverse("runbooks-api:runbook-detail", args=[runbook.pk])
    return response


@extend_schema(
    operation_id="runbooks_import_replace",
    summary="Replace a runbook's draft with a Markdown file (editors); dry_run=1 answers the diff only",
    request=MARKDOWN_BODY,
    parameters=[
        OpenApiParameter("revision", int, required=True, description="The revision you based the file on."),
        OpenApiParameter("dry_run", bool, description='1: answer {"diff": …} and save nothing.'),
    ],
    responses={
        200: RunbookSerializer,
        400: ERRORS,
        403: OpenApiResponse(description="Your role does not allow editing."),
        404: OpenApiResponse(description="No such runbook."),
        409: OpenApiResponse(description="The revision is stale; nothing was saved."),
        413: ERRORS,
    },
)
@api_view(["PUT"])
@parser_classes([MarkdownParser, PlainTextParser])
def runbook_import_replace_view(request: Request, pk: int) -> Response:
    runbook = runbook_for_user(request.user, pk, EDIT)
    revision = request.query_params.get("revision", "")
    if not revision.isdigit():
        raise InvalidInput({"revision": ["Send ?revision= with the revision your file is based on."]})
    dry_run = request.query_params.get("dry_run", "") in ("1", "true", "yes")
    result = runbook_import_replace(
        user=request.user, runbook=runbook, text=_text(request), revision=int(revision), dry_run=dry_run
    )
    if dry_run:
        return Response({"diff": diff_as_json(result.diff)})
    return _runbook_response(request, result.runbook, status.HTTP_200_OK)
