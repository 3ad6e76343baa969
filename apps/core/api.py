"""API plumbing shared by every app: domain errors → HTTP status codes with field errors."""

import io

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import status
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import Conflict, InvalidInput, ServiceUnavailable, StaleRevision, TooLarge

MAX_REQUEST_BYTES = 16 * 1024 * 1024


class LimitedJSONParser(BaseParser):
    """JSON only, and never more than MAX_REQUEST_BYTES read into memory.

    Not a JSONParser subclass on purpose: DRF reads `request.body` for those, which caps bodies at
    Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB, answered as an HTML 400) — below the size of a
    valid runbook with many long scripts. This reads the stream itself, up to our own limit.
    """

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        too_large = TooLarge({"non_field_errors": [f"The request body is over {MAX_REQUEST_BYTES:,} bytes."]})
        try:
            if declared and int(declared) > MAX_REQUEST_BYTES:
                raise too_large
        except ValueError:
            pass
        # A body without (or lying about) Content-Length is cut off here rather than read whole.
        raw = stream.read(MAX_REQUEST_BYTES + 1)
        if len(raw) > MAX_REQUEST_BYTES:
            raise too_large
        return JSONParser().parse(io.BytesIO(raw), media_type, parser_context)


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
