"""Admin views of automation: read-only. Triggers and schedules change through their pages and API,
where the editor rule, validation and the audit apply: the four-eyes rule reads who changed a schedule
or rotated a trigger from the audit, so a change the admin made unaudited would get around it.
Secrets are never shown (the field is excluded)."""

from django.contrib import admin

from apps.automation.models import (
    Delivery,
    Notification,
    NotificationAttempt,
    Proposal,
    Schedule,
    ScheduleFire,
    Trigger,
    TriggerFire,
)
from apps.core.admin import ReadOnlyAdmin


@admin.register(Trigger)
class TriggerAdmin(ReadOnlyAdmin):
    list_display = ["name", "runbook", "kind", "action", "enabled", "created_by", "deleted_at"]
    list_filter = ["kind", "action", "enabled"]
    search_fields = ["name", "runbook__title"]
    # The secret is write-only everywhere: pages and the API rotate it; the admin never sees it.
    exclude = ["secret"]


@admin.register(TriggerFire)
class TriggerFireAdmin(ReadOnlyAdmin):
    list_display = ["trigger", "dedup_key", "at", "execution", "proposal"]
    search_fields = ["dedup_key", "trigger__name"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["trigger", "at", "outcome", "status_code", "source"]
    list_filter = ["outcome"]


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ["pk", "runbook", "trigger", "status", "created_at", "decided_by"]


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyAdmin):
    list_display = ["pk", "runbook", "cron", "timezone", "enabled", "catch_up", "last_fire_at"]


@admin.register(ScheduleFire)
class ScheduleFireAdmin(ReadOnlyAdmin):
    list_display = ["schedule", "fire_at", "outcome", "execution", "worker"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "runbook", "channel", "target", "events", "created_by"]
    list_filter = ["channel"]


@admin.register(NotificationAttempt)
class NotificationAttemptAdmin(ReadOnlyAdmin):
    # Subject and error are stored masked; the apprise URL (a credential's secret) is never stored here.
    list_display = ["at", "runbook", "execution", "event", "channel", "number", "status", "recipients"]
    list_filter = ["status", "event", "channel"]
