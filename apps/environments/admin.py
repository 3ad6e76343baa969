from django import forms
from django.contrib import admin

from apps.core.admin import AdminSaveRefused, ServiceSavedAdmin
from apps.core.errors import InvalidInput
from apps.environments.models import ExecutionEnvironment
from apps.environments.selectors import environment_users
from apps.environments.services import environment_create, environment_delete, environment_update
from apps.environments.validation import FIELDS, environment_clean


class ExecutionEnvironmentAdminForm(forms.ModelForm):
    class Meta:
        model = ExecutionEnvironment
        fields = [*FIELDS, "is_default"]

    def clean(self):
        """The environment services' rules, shown next to the fields (the services check again)."""
        cleaned = super().clean()
        instance = self.instance if self.instance.pk else None
        data = {name: cleaned[name] for name in self.fields if name in cleaned}
        if instance is not None and data.get("runtime") == instance.runtime:
            data.pop("runtime")  # an unchanged runtime is not asked of the Docker engine again
        try:
            environment_clean(data, instance=instance)
        except InvalidInput as error:
            for field, problems in error.errors.items():
                self.add_error(field if field in self.fields else None, problems)
        return cleaned


@admin.register(ExecutionEnvironment)
class ExecutionEnvironmentAdmin(ServiceSavedAdmin):
    """Saves and deletes go through the environment services, as the pages and the API do:
    validation, the one default, the audit and a rebuild of a changed Dockerfile."""

    form = ExecutionEnvironmentAdminForm
    list_display = [
        "name", "image", "network", "memory_mb", "cpus", "pids_limit", "timeout_seconds", "is_default", "build_status",
    ]  # fmt: skip
    list_filter = ["network", "is_default", "build_status"]
    search_fields = ["name", "image", "built_image"]
    # The build fields are written by the image builder, never by hand.
    readonly_fields = ["build_status", "built_image", "build_log", "built_at", "created_at", "updated_at"]
    # The bulk delete action would bypass environment_delete's checks (the default, runbooks using it).
    actions = None

    def save_model(self, request, obj, form, change) -> None:
        names = form.changed_data if change else form.fields
        data = {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}
        try:
            if change:
                # The form already changed `obj` in memory; the service compares with the stored row.
                stored = ExecutionEnvironment.objects.get(pk=obj.pk)
                saved = environment_update(environment=stored, user=request.user, data=data)
            else:
                saved = environment_create(user=request.user, data=data)
        except InvalidInput as error:
            raise AdminSaveRefused(
                [str(problem) for problems in error.errors.values() for problem in problems]
            ) from None
        obj.pk = saved.pk
        obj.refresh_from_db()

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and (obj.is_default or environment_users(obj)):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj) -> None:
        environment_delete(environment=obj, user=request.user)
