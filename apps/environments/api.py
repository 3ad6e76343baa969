"""`/api/v1/environments/`: everyone signed in reads; staff write, through the same services as the pages."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import InvalidInput
from apps.environments import selectors, services
from apps.environments.serializers import EnvironmentSerializer, EnvironmentWriteSerializer

# Sent back unchanged from a GET they are ignored, not errors.
READ_ONLY_FIELDS = {"id", "build_status", "built_image", "built_at"}


def _changes(data) -> dict:
    if not isinstance(data, dict):
        raise InvalidInput({"non_field_errors": ["Send a JSON object."]})
    return {name: value for name, value in data.items() if name not in READ_ONLY_FIELDS}


@extend_schema(request=EnvironmentWriteSerializer, responses=EnvironmentSerializer(many=True))
@api_view(["GET", "POST"])
def environment_collection(request: Request) -> Response:
    if request.method == "POST":
        environment = services.environment_create(user=request.user, data=_changes(request.data))
        return Response(EnvironmentSerializer(environment).data, status=status.HTTP_201_CREATED)
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(selectors.environments_visible_to(request.user), request)
    return paginator.get_paginated_response(EnvironmentSerializer(page, many=True).data)


@extend_schema(request=EnvironmentWriteSerializer, responses=EnvironmentSerializer)
@api_view(["GET", "PATCH", "DELETE"])
def environment_item(request: Request, pk: int) -> Response:
    if request.method == "PATCH":
        environment = selectors.environment_for_user(request.user, pk, manage=True)
        environment = services.environment_update(
            environment=environment, user=request.user, data=_changes(request.data)
        )
        return Response(EnvironmentSerializer(environment).data)
    if request.method == "DELETE":
        environment = selectors.environment_for_user(request.user, pk, manage=True)
        services.environment_delete(environment=environment, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(EnvironmentSerializer(selectors.environment_for_user(request.user, pk)).data)
