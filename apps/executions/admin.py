from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.executions.models import Execution, OutputChunk, StepRun


class StepRunInline(admin.TabularInline):
    model = StepRun
    fields = ["position", "block_key", "kind", "status", "exit_code", "output_truncated", "started_at", "finished_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# Executions are history: what ran, who ran it and what came out. Only the execution services
# (start, cancel, the worker) write them; the admin shows them.
@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    list_display = ["pk", "runbook", "version", "draft", "mode", "status", "triggered_by", "created_at", "finished_at"]
    list_filter = ["status", "mode", "draft", "created_at"]
    search_fields = ["runbook__title", "triggered_by__username", "block_key", "worker_name"]
    list_select_related = ["runbook", "version", "triggered_by"]
    date_hierarchy = "created_at"
    inlines = [StepRunInline]


@admin.register(StepRun)
class StepRunAdmin(ReadOnlyAdmin):
    list_display = ["execution", "position", "block_key", "kind", "status", "exit_code", "started_at", "finished_at"]
    list_filter = ["status", "kind"]
    search_fields = ["block_key", "execution__runbook__title"]
    list_select_related = ["execution", "execution__runbook", "confirmed_by"]


@admin.register(OutputChunk)
class OutputChunkAdmin(ReadOnlyAdmin):
    list_display = ["step_run", "seq", "created_at"]
    search_fields = ["step_run__block_key"]
    list_select_related = ["step_run"]
