from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """Append-only record of who did what to which object, hash-chained to the previous row.

    Nothing in the application updates or deletes these rows; `verify_audit` detects tampering.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id", "-seq"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor_name or '-'} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """A single row locked while appending, so concurrent writers cannot fork the chain."""

    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit chain head at #{self.last_seq}"
