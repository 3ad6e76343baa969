"""Admin for credentials: neither plaintext nor ciphertext is ever on a page.

The encrypted field is excluded; a separate write-only "new secret" field replaces it, and every
save and delete goes through the services, so the admin obeys the same rules as pages and API.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from apps.core.admin import ObjectPermissionAdmin
from apps.core.errors import InvalidInput
from apps.credentials import services
from apps.credentials.models import Credential, CredentialGroupObjectPermission, CredentialUserObjectPermission
from apps.credentials.usage import usage_provider

EDITED_FIELDS = ["name", "kind", "username", "header_name", "description"]


class CredentialAdminForm(forms.ModelForm):
    new_secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Required for a new credential; leave empty to keep the current secret.",
    )

    class Meta:
        model = Credential
        fields = EDITED_FIELDS

    @method_decorator(sensitive_variables())
    def clean(self):
        cleaned = super().clean()
        data = {field: cleaned.get(field, "") for field in EDITED_FIELDS}
        if self.instance.pk is None or cleaned.get("new_secret"):
            data["secret"] = cleaned.get("new_secret")
        try:
            services.credential_clean(
                data, current=Credential.objects.get(pk=self.instance.pk) if self.instance.pk else None
            )
        except InvalidInput as error:
            raise ValidationError(
                {("new_secret" if field == "secret" else field): texts for field, texts in error.errors.items()}
            ) from None
        return cleaned


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    form = CredentialAdminForm
    list_display = ["name", "kind", "owner", "secret_changed_at", "last_used_at"]
    list_filter = ["kind"]
    search_fields = ["name", "description"]
    readonly_fields = ["owner", "created_at", "updated_at", "secret_changed_at", "last_used_at"]
    # The bulk delete action bypasses credential_delete's "still in use" check.
    actions = None

    @method_decorator(sensitive_post_parameters("new_secret"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        data = {field: form.cleaned_data.get(field, "") for field in EDITED_FIELDS}
        # The form's clean() ran the same checks, so a refusal here can only come from a race.
        if change:
            saved = services.credential_update(
                credential=obj, user=request.user, **data, secret=form.cleaned_data.get("new_secret") or None
            )
        else:
            saved = services.credential_create(user=request.user, **data, secret=form.cleaned_data["new_secret"])
        obj.pk = saved.pk
        obj.owner = saved.owner
        obj.__dict__.pop("secret", None)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and usage_provider().drafts_using(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj) -> None:
        services.credential_delete(credential=obj, user=request.user)


@admin.register(CredentialUserObjectPermission)
class CredentialUserObjectPermissionAdmin(ObjectPermissionAdmin):
    list_display = ["content_object", "user", "permission"]
    search_fields = ["content_object__name", "user__username"]
    list_select_related = [*ObjectPermissionAdmin.list_select_related, "user"]


@admin.register(CredentialGroupObjectPermission)
class CredentialGroupObjectPermissionAdmin(ObjectPermissionAdmin):
    list_display = ["content_object", "group", "permission"]
    search_fields = ["content_object__name", "group__name"]
    list_select_related = [*ObjectPermissionAdmin.list_select_related, "group"]
