"""The operators' admin for runbooks. Every save calls the runbooks services, as the pages and the
API do: one call validates, applies the credential rule, bumps the revision once and writes one
audit event (marked "via": "admin") and the history. The forms run the same validation first, so
the errors appear next to the fields."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from guardian.admin import GuardedModelAdminMixin

from apps.core.admin import (
    AdminSaveRefused,
    NoRevertHistoryAdmin,
    ObjectPermissionAdmin,
    ReadOnlyAdmin,
    ServiceSavedAdmin,
)
from apps.core.errors import Conflict, InvalidInput
from apps.runbooks import validation
from apps.runbooks.models import (
    Block,
    CredentialRevocation,
    Runbook,
    RunbookGroupObjectPermission,
    RunbookUserObjectPermission,
    RunbookVersion,
)
from apps.runbooks.roles import ROLE_CODENAMES
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.blocks import block_update, blocks_check_credentials
from apps.runbooks.services.runbooks import runbook_archive, runbook_create, runbook_update

VERSIONS_REFUSAL = "Roll back through the runbook's versions instead."
RUNBOOK_FIELDS = ("title", "description", "tags", "environment", "parameters")


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


def _refused(error: Exception) -> AdminSaveRefused:
    return AdminSaveRefused(_messages(error.errors) if isinstance(error, InvalidInput) else [str(error)])


class BlockAdminForm(forms.ModelForm):
    # Set per request by the admins below (with_acting_user): the credential rule needs who saves.
    acting_user = None

    class Meta:
        model = Block
        fields = ["position", "key", "title", "kind", "config"]

    def kind(self, cleaned) -> str | None:
        # The standalone block admin shows the kind read-only: a block keeps its kind there.
        return cleaned.get("kind") if "kind" in self.fields else self.instance.kind

    def clean(self):
        cleaned = super().clean()
        kind = self.kind(cleaned)
        if "config" not in cleaned or not kind:
            return cleaned  # not valid JSON, or no kind: the field already says so
        data = {"key": cleaned.get("key") or "", "title": cleaned.get("title") or "", "kind": kind}
        try:
            block = validation.clean_block({**data, "config": cleaned["config"]})
        except InvalidInput as error:
            for field, problems in error.errors.items():
                for message in _messages(problems):
                    self.add_error(field if field in self.fields else None, message)
            return cleaned
        cleaned["title"], cleaned["config"] = block["title"], block["config"]
        self._check_credentials(block)
        return cleaned

    def _check_credentials(self, block: dict) -> None:
        """The same credential rule as the editor and the API, checked here to show it on the field
        (the service checks it again): changing a block that carries a credential takes the user
        role on it, whatever admin permissions the operator holds."""
        previous = Block.objects.filter(pk=self.instance.pk).first() if self.instance.pk else None
        try:
            blocks_check_credentials(
                user=self.acting_user,
                blocks=[block],
                previous={block["key"]: previous} if previous is not None else None,
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
            {"key": cleaned["key"], "kind": block.kind, "config": cleaned["config"]}
            if block.pk == self.instance.pk
            else {"key": block.key, "kind": block.kind, "config": block.config}
            for block in self.instance.runbook.blocks.order_by("position", "pk")
        ]
        try:
            validation.check_gotos(blocks)
        except InvalidInput as error:
            raise ValidationError(_messages(error.errors)) from None
        return cleaned


def kept_blocks(formset) -> list[dict]:
    """The inline's blocks in their new order, without the deleted ones, in the services' shape."""
    kept = [form.cleaned_data for form in formset.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
    return [
        {"key": data["key"], "title": data.get("title") or "", "kind": data["kind"], "config": data["config"]}
        for data in sorted(kept, key=lambda data: data.get("position") or 0)
    ]


class BlockInlineFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        blocks = kept_blocks(self)
        if len(blocks) > validation.settings.RUNBOOKS_MAX_BLOCKS:
            raise ValidationError(f"A runbook has at most {validation.settings.RUNBOOKS_MAX_BLOCKS} blocks.")
        try:
            validation.check_gotos(blocks)
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
class RunbookAdmin(GuardedModelAdminMixin, ServiceSavedAdmin, NoRevertHistoryAdmin):
    """Guardian's object-permission pages plus simple-history's history view, on one admin."""

    form = RunbookAdminForm
    inlines = [BlockInline]
    list_display = ["title", "owner", "revision", "environment", "archived_at", "updated_at"]
    list_filter = ["environment", "archived_at", "updated_at"]
    search_fields = ["title", "description", "owner__username", "tags__name"]
    list_select_related = ["owner", "environment"]
    readonly_fields = ["revision", "last_modified_by", "archived_at", "created_at", "updated_at"]
    actions = ["archive_selected"]
    revert_refusal = VERSIONS_REFUSAL

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    def get_readonly_fields(self, request, obj=None):
        # The owner is chosen when the runbook is created; later, roles change on the permissions page.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "owner"] if obj is not None else fields

    def has_delete_permission(self, request, obj=None) -> bool:
        # Runbooks are archived, never hard-deleted: executions and versions point at them.
        return False

    def save_model(self, request, obj, form, change) -> None:
        """Nothing yet: save_related knows the blocks too, and saves the runbook with them in one
        service call (one revision, one audit event)."""

    def save_formset(self, request, form, formset, change) -> None:
        # The service saved the blocks; the admin's change message lists the form's fields only.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def save_related(self, request, form, formsets, change) -> None:
        for formset in formsets:
            self.save_formset(request, form, formset, change)
        content = {name: form.cleaned_data[name] for name in RUNBOOK_FIELDS}
        content["blocks"] = next((kept_blocks(formset) for formset in formsets if formset.model is Block), [])
        try:
            if change:
                revision = form.cleaned_data["opened_revision"]
                saved = runbook_update(
                    runbook=form.instance, user=request.user, revision=revision, via="admin", **content
                )
            else:
                owner = form.cleaned_data["owner"]
                saved = runbook_create(user=request.user, owner=owner, via="admin", **content)
        except (InvalidInput, Conflict) as error:
            raise _refused(error) from None
        form.instance.pk = saved.pk
        form.instance.refresh_from_db()

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
class BlockAdmin(ServiceSavedAdmin, NoRevertHistoryAdmin):
    form = StandaloneBlockAdminForm
    list_display = ["key", "title", "kind", "runbook", "position"]
    list_filter = ["kind"]
    search_fields = ["key", "title", "runbook__title"]
    list_select_related = ["runbook"]
    # A block keeps its kind; its place changes in the runbook's ordered list (block_update moves neither).
    readonly_fields = ["runbook", "kind", "position"]
    revert_refusal = VERSIONS_REFUSAL

    def get_form(self, request, obj=None, change=False, **kwargs):
        return with_acting_user(super().get_form(request, obj, change=change, **kwargs), request.user)

    def has_add_permission(self, request) -> bool:
        # A block belongs in an ordered list: add it on its runbook.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        # The form already changed `obj` in memory; the service compares with the stored block.
        stored = Block.objects.select_related("runbook").get(pk=obj.pk)
        data = form.cleaned_data
        try:
            # No revision was opened on this page (as before): the save is based on the current one.
            block_update(
                block=stored, user=request.user, revision=stored.runbook.revision,
                key=data["key"], title=data["title"], config=data["config"], via="admin",
            )  # fmt: skip
        except (InvalidInput, Conflict) as error:
            raise _refused(error) from None


@admin.register(RunbookVersion)
class RunbookVersionAdmin(ReadOnlyAdmin):
    list_display = ["runbook", "number", "message", "author", "created_at", "restored_from", "content_hash"]
    list_filter = ["created_at"]
    search_fields = ["runbook__title", "message", "author__username", "content_hash"]
    list_select_related = ["runbook", "author"]


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
