"""GET /api/v1/audit/ for staff (DESIGN.md "Public API"): a thin caller of apps.audit.selectors."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.audit.forms import AuditFilterForm
from apps.audit.models import AuditEvent
from apps.audit.selectors import audit_events
from apps.core.errors import InvalidInput


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name")

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "action", "object_type", "object_id", "detail", "hash"]
        read_only_fields = fields


FILTERS = [
    OpenApiParameter(name, str, description=description)
    for name, description in [
        ("actor", "username, exact"),
        ("action", "exact, or a family ending in “.” (runbook.)"),
        ("object_type", "e.g. runbook"),
        ("object_id", "the object's id"),
        ("since", "YYYY-MM-DD, inclusive"),
        ("until", "YYYY-MM-DD, inclusive"),
    ]
]


@extend_schema(parameters=FILTERS, responses=AuditEventSerializer(many=True))
@api_view(["GET"])
@permission_classes([IsAdminUser])
def audit_list(request: Request) -> Response:
    form = AuditFilterForm(request.query_params)
    if not form.is_valid():
        raise InvalidInput({name: list(messages) for name, messages in form.errors.items()})
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(audit_events(**form.cleaned_data), request)
    return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)
