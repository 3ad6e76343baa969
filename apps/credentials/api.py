"""`/api/v1/credentials/`: thin callers of the credential services. Nothing here returns a secret."""

from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import InvalidInput
from apps.credentials import roles, services
from apps.credentials.selectors import credential_access_entries, credential_for_user, credentials_visible_to
from apps.credentials.serializers import (
    CredentialAccessEntrySerializer,
    CredentialSerializer,
    CredentialWriteSerializer,
)

# Fields a client may send back unchanged from a GET; they are ignored, not errors.
READ_ONLY_FIELDS = {"id", "created_at", "updated_at", "last_used_at"}


def _changes(data) -> dict:
    if not isinstance(data, dict):
        raise InvalidInput({"non_field_errors": ["Send a JSON object."]})
    return {name: value for name, value in data.items() if name not in READ_ONLY_FIELDS}


@extend_schema(request=CredentialWriteSerializer, responses=CredentialSerializer(many=True))
@api_view(["GET", "POST"])
@sensitive_variables("changes")
def credential_collection(request: Request) -> Response:
    if request.method == "POST":
        changes = _changes(request.data)
        unknown = set(changes) - set(services.EDITABLE_FIELDS)
        if unknown:
            raise InvalidInput({name: ["Unknown field."] for name in sorted(unknown)})
        credential = services.credential_create(
            user=request.user,
            name=changes.get("name"),
            kind=changes.get("kind"),
            secret=changes.get("secret"),
            username=changes.get("username") or "",
            header_name=changes.get("header_name") or "",
            description=changes.get("description") or "",
        )
        return Response(CredentialSerializer(credential).data, status=status.HTTP_201_CREATED)
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(credentials_visible_to(request.user), request)
    return paginator.get_paginated_response(CredentialSerializer(page, many=True).data)


@extend_schema(request=CredentialWriteSerializer, responses=CredentialSerializer)
@api_view(["GET", "PATCH", "DELETE"])
@sensitive_variables()
def credential_item(request: Request, pk: int) -> Response:
    if request.method == "PATCH":
        credential = credential_for_user(request.user, pk, roles.CHANGE)
        credential = services.credential_update(credential=credential, user=request.user, **_changes(request.data))
        return Response(CredentialSerializer(credential).data)
    if request.method == "DELETE":
        credential = credential_for_user(request.user, pk, roles.DELETE)
        services.credential_delete(credential=credential, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(CredentialSerializer(credential_for_user(request.user, pk)).data)


@extend_schema(request=CredentialAccessEntrySerializer(many=True), responses=CredentialAccessEntrySerializer(many=True))
@api_view(["GET", "PUT"])
def credential_access(request: Request, pk: int) -> Response:
    # Who holds which role is the owners' business, like the share page and the runbooks' access API.
    credential = credential_for_user(request.user, pk, roles.SHARE)
    if request.method == "PUT":
        return Response(services.credential_set_access(credential=credential, actor=request.user, entries=request.data))
    return Response(credential_access_entries(credential))
