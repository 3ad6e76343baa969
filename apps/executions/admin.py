from django.contrib import admin

from apps.executions.models import ExecutionEnvironment


@admin.register(ExecutionEnvironment)
class ExecutionEnvironmentAdmin(admin.ModelAdmin):
    list_display = ["name", "image", "network", "memory_mb", "cpus", "pids_limit", "timeout_seconds", "is_default"]
    list_filter = ["network", "is_default"]
    search_fields = ["name", "image"]
    readonly_fields = ["created_at", "updated_at"]
