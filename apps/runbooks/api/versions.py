"""REST API for versions (DESIGN.md "Public API"): thin callers of apps.runbooks.versions.

Read with the viewer role, publish and roll back with the editor role, always through
`runbook_for_user`. A published version has no write route at all: only GET, and POST that adds
the next version; PUT, PATCH and DELETE answer 405.
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import InvalidInput
from apps.core.schema import NON_BLANK
from apps.runbooks.models import RunbookVersion
from apps.runbooks.roles import EDIT, VIEW
from apps.runbooks.selectors import runbook_for_user
from apps.runbooks.versions import (
    MAX_MESSAGE_LENGTH,
    runbook_publish,
    runbook_rollback,
    runbook_version_get,
    runbook_versions,
)


class VersionSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = RunbookVersion
        fields = ["number", "message", "author", "created_at", "content_hash", "restored_from"]
        read_only_fields = fields

    def get_author(self, version: RunbookVersion) -> str | None:
        return version.author.get_username() if version.author else None


class VersionDetailSerializer(VersionSerializer):
    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "snapshot"]
        read_only_fields = fields


MESSAGE_BODY = inline_serializer(
    "VersionMessage",
    {
        # Required and not blank: a version says what changed (apps.runbooks.versions._clean_message).
        "message": serializers.RegexField(NON_BLANK, max_length=MAX_MESSAGE_LENGTH - 40),
        "revision": serializers.IntegerField(
            min_value=0, required=False, help_text="Publish only if the draft is still at this revision (else 409)."
        ),
    },
)
ROLLBACK_BODY = inline_serializer(
    "RollbackMessage", {"message": serializers.RegexField(NON_BLANK, max_length=MAX_MESSAGE_LENGTH - 40)}
)


def _message(request: Request) -> str:
    if not isinstance(request.data, dict):
        raise InvalidInput({"non_field_errors": ['Send a JSON object: {"message": "…"}.']})
    message = request.data.get("message")
    if message is not None and not isinstance(message, str):
        raise InvalidInput({"message": ["The message must be text."]})
    return message or ""


@extend_schema(request=MESSAGE_BODY, responses={200: VersionSerializer(many=True), 201: VersionDetailSerializer})
@api_view(["GET", "POST"])
def version_list(request: Request, pk: int) -> Response:
    if request.method == "POST":
        runbook = runbook_for_user(request.user, pk, EDIT)
        revision = request.data.get("revision") if isinstance(request.data, dict) else None
        version = runbook_publish(runbook=runbook, user=request.user, message=_message(request), revision=revision)
        return Response(VersionDetailSerializer(version).data, status=status.HTTP_201_CREATED)
    runbook = runbook_for_user(request.user, pk, VIEW)
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(runbook_versions(runbook).order_by("-number"), request)
    return paginator.get_paginated_response(VersionSerializer(page, many=True).data)


@extend_schema(responses=VersionDetailSerializer)
@api_view(["GET"])
def version_detail(request: Request, pk: int, number: int) -> Response:
    runbook = runbook_for_user(request.user, pk, VIEW)
    return Response(VersionDetailSerializer(runbook_version_get(runbook, number)).data)


@extend_schema(request=ROLLBACK_BODY, responses={201: VersionDetailSerializer})
@api_view(["POST"])
def version_rollback(request: Request, pk: int, number: int) -> Response:
    runbook = runbook_for_user(request.user, pk, EDIT)
    version = runbook_rollback(runbook=runbook, user=request.user, number=number, message=_message(request))
    return Response(VersionDetailSerializer(version).data, status=status.HTTP_201_CREATED)
