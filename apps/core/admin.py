"""Admin base classes the apps' admins build on; core imports no domain app, so every layer may use them."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from simple_history.admin import SimpleHistoryAdmin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: visible to operators, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ObjectPermissionAdmin(ReadOnlyAdmin):
    """Guardian's direct-foreign-key permission rows. Roles are granted through each kind's grant
    service (sharing page, API, or an object's permissions page); editing raw rows here could leave
    an object without an owner and would skip the audit."""

    list_filter = ["permission"]
    list_select_related = ["content_object", "permission"]


class NoRevertHistoryAdmin(SimpleHistoryAdmin):
    """simple-history's history pages, read-only: a revert would restore one row without the rules
    (and the related rows) its services keep, so it is refused; roll back through the services."""

    revert_refusal = "Roll back through the services instead."

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied(self.revert_refusal)
        return super().history_form_view(request, object_id, version_id, extra_context)


class AdminSaveRefused(Exception):
    """A service refused a save the admin's forms had accepted (a race: someone else changed it
    meanwhile). Raised inside the admin's transaction, so nothing of the save is kept."""

    def __init__(self, messages: list[str]):
        super().__init__(" ".join(messages))
        self.messages = messages


class ServiceSavedAdmin(admin.ModelAdmin):
    """For admins whose saves call services: a refusal at save time rolls the whole request back
    and reopens the page with the reason, instead of answering 500."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except AdminSaveRefused as refusal:
            self.message_user(request, f"Nothing was saved: {refusal}", messages.ERROR)
            return redirect(request.get_full_path())
