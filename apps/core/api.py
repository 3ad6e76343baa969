"""API plumbing shared by every app: domain errors → HTTP status codes with field errors."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import Conflict, InvalidInput, StaleRevision, TooLarge


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
    if isinstance(exc, Http404):
        return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        return Response({"detail": str(exc) or "Permission denied."}, status=status.HTTP_403_FORBIDDEN)
    return drf_exception_handler(exc, context)
