"""Reads of the audit trail for the staff page, its CSV export and the API."""

from datetime import date

from django.db.models import QuerySet

from apps.audit.models import AuditEvent


def audit_events(
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet:
    """Newest first. `action` ending in "." matches a family ("runbook." → every runbook action)."""
    events = AuditEvent.objects.order_by("-seq")
    if actor:
        events = events.filter(actor_name__iexact=actor)
    if action:
        events = events.filter(action__startswith=action) if action.endswith(".") else events.filter(action=action)
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if since:
        events = events.filter(at__date__gte=since)
    if until:
        events = events.filter(at__date__lte=until)
    return events


def audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct())
