"""The operators' admin for runbooks. Saves run the same validation as the pages and the API, bump
the revision (so an editor's stale draft is still refused) and leave an audit event."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from guardian.admin import GuardedModelAdminMixin
from simple_history.admin import SimpleHistoryAdmin

from apps.audit.services import audit_record
from apps.blocks.kinds import ConfigError, validate_config
from apps.core.errors import InvalidInput
from apps.runbooks import validation
from apps.runbooks.models import (
    Block,
    CredentialRevocation,
    Runbook,
    RunbookGroupObjectPermission,
    RunbookUserObjectPermission,
    RunbookVersion,
)
from apps.runbooks.roles import ROLE_CODENAMES, Role
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.blocks import blocks_check_credentials
from apps.runbooks.services.runbooks import runbook_archive


def _messages(errors) -> list[str]:
    """Flatten the services' nested {field: [message] | {field: ...} | [{...}]} errors."""
    if isinstance(errors, str):
        return [errors]
    if isinstance(errors, dict):
        return [
            f"{name}: {message}" if name not in ("non_field_errors", "config") else message
            for name, value in errors.items()
            for message in _messages(value)
        ]
    return [message for item in errors or [] for message in _messages(item)]


def _block_problems(kind, key, title, config) -> tuple[dict, dict | None]:
    """Field errors of one block and its normalised config, by the rules the services apply."""
    problems: dict[str, list[str]] = {}
    try:
        validation.clean_block_key(key)
    except InvalidInput as error:
        problems["key"] = _messages(error.errors)
    if title and len(title) > 200:
        problems["title"] = ["The title must be text under 200 characters."]
    normalised = None
    if kind:
        try:
            normalised = validate_config(kind, config)
        except ConfigError as error:
            problems["config"] = _messages(error.errors)
    return problems, normalised


class BlockAdminForm(forms.ModelForm):
    # Set per request by the admins below (with_acting_user): the credential rule needs who saves.
    acting_user = None

    class Meta:
        model = Block
        fields = ["position", "key", "title", "kind", "config"]

    def clean(self):
        cleaned = super().clean()
        if "config" not in cleaned:
            return cleaned  # not valid JSON: the field already says so
        problems, normalised = _block_problems(
            cleaned.get("kind"), cleaned.get("key") or "", cleaned.get("title") or "", cleaned["config"]
        )
        for field, field_messages in problems.items():
            for message in field_messages:
                self.add_error(field, message)
        if normalised is not None:
            cleaned["config"] = normalised
            self._check_credentials(cleaned)
        return cleaned

    def _check_credentials(self, cleaned) -> None:
        """The same credential rule as the editor and the API: changing a block that carries a
        credential takes the user role on it, whatever admin permissions the operator holds."""
        previous = Block.objects.filter(pk=self.instance.pk).first() if self.instance.pk else None
        key = cleaned.get("key") or ""
        try:
            blocks_check_credentials(
                user=self.acting_user,
                blocks=[{"key": key, "kind": cleaned.get("kind"), "config": cleaned["config"]}],
                previous={key: previous} if previous is not None else None,
            )
        except InvalidInput as error:
            self.add_error("config", _messages(error.errors))


def with_acting_user(form_class, user):
    """A subclass of the form bound to the operator of this request (never shared between requests)."""
    return type(form_class.__name__, (form_class,), {"acting_user": user})


class StandaloneBlockAdminForm(BlockAdminForm):
    """One block edited on its own: its runbook's other blocks must still accept it (forward gotos)."""

    def clean(self):
        cleaned = super().clean()
        if self.errors or self.instance.pk is None:
            return cleaned
        blocks = [
            {"key": cleaned["key"], "kind": cleaned["kind"], "config": cleaned["config"]}
            if block.pk == self.instance.pk
            else {"key": block.key, "kind": block.kind, "config": block.config}
            for block in self.instance.runbook.blocks.order_by("position", "pk")
        ]
        try:
            validation.check_gotos(blocks)
        except InvalidInput as error:
            raise ValidationError(_messages(error.errors)) from None
        return cleaned


class BlockInlineFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.cleaned_data for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
        ]
        if len(kept) > validation.settings.RUNBOOKS_MAX_BLOCKS:
            raise ValidationError(f"A runbook has at most {validation.settings.RUNBOOKS_MAX_BLOCKS} blocks.")
        ordered = sorted(kept, key=lambda data: data.get("position") or 0)
        try:
            validation.check_gotos(
                [{"key": data["key"], "kind": data["kind"], "config": data["config"]} for data in ordered]
            )
        except InvalidInput as error:
            raise ValidationError(_messages(error.errors)) from None


class BlockInline(admin.StackedInline):
    model = Block
    form = BlockAdminForm
    formset = BlockInlineFormSet
    extra = 0
    ordering = ["position", "pk"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"form": with_acting_user(formset.form, request.user)})


class RunbookAdminForm(forms.ModelForm):
    # The revision the operator opened; a save based on an older one is refused, as in the editor.
    opened_revision = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Runbook
        fields = ["title", "description", "tags", "environment", "parameters", "owner"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["opened_revision"] = self.instance.revision

    def _run(self, cleaner, value):
        try:
            return cleaner(value)
        except InvalidInput as error:
            raise ValidationError(_messages(error.errors)) from None

    def clean_title(self):
        return self._run(validation.clean_title, self.cleaned_data.get("title"))

    def clean_description(self):
        return self._run(validation.clean_description, self.cleaned_data.get("description"))

    def clean_parameters(self):
        return self._run(validation.clean_parameters, self.cleaned_data.get("parameters"))

    def clean_tags(self):
        return self._run(validation.clean_tags, list(self.cleaned_data.get("tags") or []))

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            current = Runbook.objects.filter(pk=self.instance.pk).values_list("revision", flat=True).first()
            if cleaned.get("opened_revision") != current:
                raise ValidationError(
                    f"This runbook was changed since you opened it (now revision {current}). "
                    "Reload the page and make your change again."
                )
        return cleaned


@admin.register(Runbook)
class RunbookAdmin(GuardedModelAdminMixin, SimpleHistoryAdmin):
    """Guardian's object-permission pages plus simple-history's history view, on one admin."""

    form = RunbookAdminForm
    inlines = [BlockInline]
    list_display = ["title", "owner", "revision", "environment", "archived_at", "updated_at"]
    list_filter = ["environment", "archived_at", "updated_at"]
    search_fields = ["title", "description", "owner__username", "tags__name"]
    list_select_related = ["owner", "environment"]
    readonly_fields = ["revision", "last_modified_by", "archived_at", "created_at", "updated_at"]
    actions = ["archive_selected"]

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    def has_delete_permission(self, request, obj=None) -> bool:
        # Runbooks are archived, never hard-deleted: executions and versions point at them.
        return False

    def revert_disabled(self, request, obj=None) -> bool:
        # A history revert would restore the runbook row without its blocks; roll back versions instead.
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied("Roll back through the runbook's versions instead.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def save_model(self, request, obj, form, change) -> None:
        obj.last_modified_by = request.user
        if change:
            locked = Runbook.objects.select_for_update().get(pk=obj.pk)
            obj.revision = locked.revision + 1
        super().save_model(request, obj, form, change)

    @transaction.atomic
    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        runbook = form.instance
        if not change:
            runbook_grant(runbook=runbook, actor=request.user, principal=runbook.owner, role=Role.OWNER)
        fields = [name for name in form.changed_data if name != "opened_revision"]
        if any(formset.has_changed() for formset in formsets):
            fields.append("blocks")
        audit_record(
            actor=request.user,
            action="runbook.edit" if change else "runbook.create",
            obj=runbook,
            detail={"fields": fields, "revision": runbook.revision, "via": "admin"},
        )

    # Guardian's object-permission pages would assign raw permissions one by one; a runbook knows
    # roles, an owner it must keep and an audit trail, so their saves go through runbook_grant.
    def obj_perms_manage_user_view(self, request, object_pk, user_id):
        if request.method != "POST":
            return super().obj_perms_manage_user_view(request, object_pk, user_id)
        principal = get_object_or_404(get_user_model(), pk=user_id)
        return self._grant_from_admin(request, object_pk, principal, "runbooks_runbook_permissions_manage_user")

    def obj_perms_manage_group_view(self, request, object_pk, group_id):
        if request.method != "POST":
            return super().obj_perms_manage_group_view(request, object_pk, group_id)
        principal = get_object_or_404(Group, pk=group_id)
        return self._grant_from_admin(request, object_pk, principal, "runbooks_runbook_permissions_manage_group")

    def _grant_from_admin(self, request, object_pk, principal, url_name: str):
        if not self.has_change_permission(request, None):
            raise PermissionDenied
        runbook = get_object_or_404(self.get_queryset(request), pk=object_pk)
        codenames = set(request.POST.getlist("permissions"))
        role = next((role for role, names in ROLE_CODENAMES.items() if set(names) == codenames), None)
        if codenames and role is None:
            roles = "; ".join(f"{role}: {', '.join(names)}" for role, names in ROLE_CODENAMES.items())
            messages.error(request, f"Choose exactly the permissions of one role ({roles}), or none to revoke.")
        else:
            try:
                runbook_grant(runbook=runbook, actor=request.user, principal=principal, role=role)
            except InvalidInput as error:
                messages.error(request, " ".join(_messages(error.errors)))
            else:
                messages.success(
                    request, f"{principal} now has the role {role}." if role else f"{principal} has no role."
                )
        return redirect(f"admin:{url_name}", runbook.pk, principal.pk)

    @admin.action(description="Archive the selected runbooks", permissions=["change"])
    def archive_selected(self, request, queryset) -> None:
        for runbook in queryset:
            runbook_archive(runbook=runbook, user=request.user)
        self.message_user(request, f"Archived {queryset.count()} runbook(s).", messages.SUCCESS)


@admin.register(Block)
class BlockAdmin(SimpleHistoryAdmin):
    form = StandaloneBlockAdminForm
    list_display = ["key", "title", "kind", "runbook", "position"]
    list_filter = ["kind"]
    search_fields = ["key", "title", "runbook__title"]
    list_select_related = ["runbook"]
    readonly_fields = ["runbook"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        return with_acting_user(super().get_form(request, obj, change=change, **kwargs), request.user)

    def has_add_permission(self, request) -> bool:
        # A block belongs in an ordered list: add it on its runbook.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def revert_disabled(self, request, obj=None) -> bool:
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied("Roll back through the runbook's versions instead.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    @transaction.atomic
    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        runbook = Runbook.objects.select_for_update().get(pk=obj.runbook_id)
        runbook.revision += 1
        runbook.last_modified_by = request.user
        runbook._history_user = request.user
        runbook.save(update_fields=["revision", "last_modified_by", "updated_at"])
        audit_record(
            actor=request.user,
            action="runbook.edit",
            obj=runbook,
            detail={"block_changed": obj.key, "revision": runbook.revision, "via": "admin"},
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: visible to operators, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RunbookVersion)
class RunbookVersionAdmin(ReadOnlyAdmin):
    list_display = ["runbook", "number", "message", "author", "created_at", "restored_from", "content_hash"]
    list_filter = ["created_at"]
    search_fields = ["runbook__title", "message", "author__username", "content_hash"]
    list_select_related = ["runbook", "author"]


class ObjectPermissionAdmin(ReadOnlyAdmin):
    # Roles are granted through runbook_grant (sharing page, API, or the object-permissions page of
    # a runbook); editing raw rows here could leave a runbook without an owner.
    list_filter = ["permission"]
    list_select_related = ["content_object", "permission"]


@admin.register(RunbookUserObjectPermission)
class RunbookUserObjectPermissionAdmin(ObjectPermissionAdmin):
    list_display = ["content_object", "user", "permission"]
    search_fields = ["content_object__title", "user__username"]
    list_select_related = [*ObjectPermissionAdmin.list_select_related, "user"]


@admin.register(RunbookGroupObjectPermission)
class RunbookGroupObjectPermissionAdmin(ObjectPermissionAdmin):
    list_display = ["content_object", "group", "permission"]
    search_fields = ["content_object__title", "group__name"]
    list_select_related = [*ObjectPermissionAdmin.list_select_related, "group"]


@admin.register(CredentialRevocation)
class CredentialRevocationAdmin(ReadOnlyAdmin):
    # Revoked and restored by a credential's owners on its page or through the API (apps.runbooks.usage).
    list_display = ["credential", "runbook", "revoked_by", "revoked_at"]
    search_fields = ["credential__name", "runbook__title"]
    list_select_related = ["credential", "runbook", "revoked_by"]
