"""API plumbing shared by every app: domain errors → HTTP status codes with field errors (the request body's
checks are in apps.core.parsers)."""

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import Conflict, InvalidInput, ServiceUnavailable, StaleRevision, TooLarge
from apps.core.text import text_problem

if TYPE_CHECKING:
    # Only for the annotation: DRF's settings import this module while rest_framework.request loads.
    from rest_framework.request import Request


def check_query_text(request: "Request", *names: str) -> dict[str, str]:
    """The named query parameters as text, or InvalidInput naming those PostgreSQL could not compare."""
    values = {name: request.query_params.get(name, "") for name in names}
    errors = {name: [problem] for name, value in values.items() if (problem := text_problem(value))}
    if errors:
        raise InvalidInput(errors)
    return values


def exception_handler(exc, context):
    if isinstance(exc, TooLarge):
        return Response(exc.errors, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, InvalidInput):
        return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, StaleRevision):
        return Response(
            {
                "detail": str(exc),
                "revision": exc.current_revision,
                "changed_by": exc.changed_by,
                "changed_at": exc.changed_at,
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, Conflict):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ServiceUnavailable):
        return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, Http404):
        return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        return Response({"detail": str(exc) or "Permission denied."}, status=status.HTTP_403_FORBIDDEN)
    return drf_exception_handler(exc, context)
