from django.contrib import admin

from apps.audit.models import AuditChainHead, AuditEvent
from apps.core.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Append-only: an edit or delete here would break the hash chain that proves nothing was altered."""

    list_display = ["seq", "at", "actor_name", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type", "at"]
    search_fields = ["actor_name", "action", "object_type", "object_id"]
    list_select_related = ["actor"]
    date_hierarchy = "at"


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyAdmin):
    list_display = ["last_seq", "last_hash"]
