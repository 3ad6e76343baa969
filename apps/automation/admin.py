"""Admin views of automation: read mostly; secrets are never shown (the field is excluded)."""

from django.contrib import admin

from apps.automation.models import Delivery, Proposal, Schedule, ScheduleFire, Trigger


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin):
    list_display = ["name", "runbook", "kind", "action", "enabled", "created_by", "deleted_at"]
    list_filter = ["kind", "action", "enabled"]
    search_fields = ["name", "runbook__title"]
    # The secret is write-only everywhere: pages and the API rotate it; the admin never sees it.
    exclude = ["secret"]
    readonly_fields = ["uuid", "runbook", "created_by", "created_at", "updated_at", "deleted_at"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["trigger", "at", "outcome", "status_code", "source"]
    list_filter = ["outcome"]
    readonly_fields = [field.name for field in Delivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["pk", "runbook", "trigger", "status", "created_at", "decided_by"]
    readonly_fields = ["trigger", "runbook", "params", "execution", "decided_by", "decided_at"]


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["pk", "runbook", "cron", "timezone", "enabled", "catch_up", "last_fire_at"]


@admin.register(ScheduleFire)
class ScheduleFireAdmin(admin.ModelAdmin):
    list_display = ["schedule", "fire_at", "outcome", "execution", "worker"]
    readonly_fields = [field.name for field in ScheduleFire._meta.fields]
