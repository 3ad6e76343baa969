import uuid

from django.conf import settings
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords
from taggit.managers import TaggableManager

from apps.blocks.kinds import BlockKind


class RunbookQuerySet(models.QuerySet):
    def active(self) -> "RunbookQuerySet":
        return self.filter(archived_at__isnull=True)


class Runbook(models.Model):
    """The live row is the draft; published versions are immutable snapshots of it."""

    # Stable across exports and imports: a runbook file's front matter names it (docs/runbook-format.md).
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tags = TaggableManager(blank=True)
    environment = models.ForeignKey(
        "environments.ExecutionEnvironment", null=True, blank=True, on_delete=models.PROTECT, related_name="runbooks"
    )
    # [{name, label, default, required, choices}] validated by apps.runbooks.parameters.
    parameters = models.JSONField(default=list, blank=True)
    # Bumped on every change of the runbook or its blocks; a save naming an older one is refused.
    revision = models.PositiveIntegerField(default=1)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_runbooks")
    last_modified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = RunbookQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        permissions = [
            ("run_runbook", "Can run the published runbook"),
            ("share_runbook", "Can grant roles on the runbook and archive it"),
        ]
        indexes = [models.Index(fields=["archived_at", "-updated_at"])]

    def __str__(self) -> str:
        return self.title


class Block(models.Model):
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="blocks")
    key = models.SlugField(max_length=64)
    title = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=BlockKind.choices)
    config = models.JSONField(default=dict)
    position = models.PositiveIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["runbook", "key"], name="unique_block_key_per_runbook")]

    def __str__(self) -> str:
        return f"{self.key} ({self.kind})"


# Direct foreign keys for guardian: permission checks and visible-list queries join on an indexed
# integer column instead of guardian's generic (content_type, object_pk text) pair.
class RunbookUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Runbook, on_delete=models.CASCADE)


class RunbookGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Runbook, on_delete=models.CASCADE)


class RunbookVersion(models.Model):
    """An immutable, numbered snapshot of a runbook and its ordered blocks (publishing makes one)."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    message = models.CharField(max_length=500)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Same shape as the API's runbook content: title, description, tags, environment, parameters, blocks.
    snapshot = models.JSONField()
    content_hash = models.CharField(max_length=64)
    # Set when this version was made by a rollback: the number it restored.
    restored_from = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["runbook", "number"], name="unique_version_number")]

    def __str__(self) -> str:
        return f"{self.runbook_id} v{self.number}"


class CredentialRevocation(models.Model):
    """A credential's owner took back a runbook's use of it: every version's steps that need it fail
    before they run, whoever attached it and whenever."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="credential_revocations")
    credential = models.ForeignKey("credentials.Credential", on_delete=models.CASCADE, related_name="revocations")
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["runbook", "credential"], name="unique_revocation_per_runbook_credential")
        ]

    def __str__(self) -> str:
        return f"credential {self.credential_id} revoked from runbook {self.runbook_id}"
