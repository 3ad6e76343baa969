"""Triggers (webhooks from alerting tools), schedules and notifications: what starts runs and who hears of them.

The top layer: it may use every other app, and nothing below imports it.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models

from apps.credentials.fields import SecretField


class TriggerKind(models.TextChoices):
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    GRAFANA = "grafana", "Grafana alerting"
    PAGERDUTY = "pagerduty", "PagerDuty (V3 webhooks)"
    GENERIC = "generic", "Generic JSON"


class TriggerAction(models.TextChoices):
    RUN = "run", "Run the latest published version"
    PROPOSE = "propose", "Propose a pre-filled run for a runner to start"


class TriggerPer(models.TextChoices):
    ALERT = "alert", "One run per firing alert"
    GROUP = "group", "One run per notification (group)"


class TriggerQuerySet(models.QuerySet):
    def active(self):
        return self.filter(deleted_at__isnull=True)


class Trigger(models.Model):
    """A webhook URL that starts (or proposes) runs of one runbook, acting as the editor who made it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    runbook = models.ForeignKey("runbooks.Runbook", on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=TriggerKind.choices, default=TriggerKind.GENERIC)
    action = models.CharField(max_length=10, choices=TriggerAction.choices, default=TriggerAction.RUN)
    per = models.CharField(max_length=10, choices=TriggerPer.choices, default=TriggerPer.ALERT)
    # {parameter name: "dotted.path.in.payload" or "=constant"}
    params = models.JSONField(default=dict, blank=True)
    # A dotted path whose value is the dedup key; empty = the kind's own key (groupKey+fingerprint, event.id).
    dedup_path = models.CharField(max_length=200, blank=True)
    dedup_seconds = models.PositiveIntegerField(default=300, validators=[MaxValueValidator(7 * 86400)])
    include_resolved = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    # Kept encrypted, not hashed: HMAC signatures can only be checked with the secret itself.
    secret = SecretField(null=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="created_triggers"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Soft-deleted, so runs it started still say "started by trigger <name>" in history.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = TriggerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class DeliveryOutcome(models.TextChoices):
    STARTED = "started", "Started"
    PROPOSED = "proposed", "Proposed"
    DEDUPLICATED = "deduplicated", "Deduplicated"
    IGNORED = "ignored", "Ignored (nothing firing)"
    REFUSED = "refused", "Refused"


class Delivery(models.Model):
    """One authenticated call of a trigger's hook, whatever came of it. Bounded per trigger."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="deliveries")
    at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=15, choices=DeliveryOutcome.choices)
    status_code = models.PositiveSmallIntegerField(default=202)
    reason = models.TextField(blank=True)
    executions = models.JSONField(default=list, blank=True)
    proposals = models.JSONField(default=list, blank=True)
    # Masked with every credential's secret and the trigger's own, then capped.
    payload = models.TextField(blank=True)
    payload_truncated = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["trigger", "-at"])]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.trigger_id} {self.outcome} at {self.at:%Y-%m-%d %H:%M:%S}"


class TriggerFire(models.Model):
    """A dedup key seen by a trigger, and what it started: the next delivery with it inside the window starts nothing."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="fires")
    dedup_key = models.CharField(max_length=500)
    at = models.DateTimeField()
    execution = models.ForeignKey("executions.Execution", null=True, blank=True, on_delete=models.SET_NULL)
    proposal = models.ForeignKey("automation.Proposal", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        indexes = [models.Index(fields=["trigger", "dedup_key", "-at"])]

    def __str__(self) -> str:
        return f"{self.trigger_id}:{self.dedup_key}"


class ProposalStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for a runner"
    STARTED = "started", "Started"
    DISMISSED = "dismissed", "Dismissed"


class Proposal(models.Model):
    """A run a trigger pre-filled; nothing runs until a runner clicks Start (it then runs as that runner)."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="proposals")
    runbook = models.ForeignKey("runbooks.Runbook", on_delete=models.CASCADE, related_name="proposals")
    params = models.JSONField(default=dict, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    execution = models.ForeignKey(
        "executions.Execution", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Proposal {self.pk} of {self.runbook_id} ({self.status})"


class Schedule(models.Model):
    """A cron schedule of a runbook: each fire time starts exactly one run of the latest published version."""

    runbook = models.ForeignKey("runbooks.Runbook", on_delete=models.CASCADE, related_name="schedules")
    cron = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, default="UTC")
    params = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    # After an outage: start one run for the most recent missed time (True) or only record them (False).
    catch_up = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="created_schedules"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The last fire time dealt with (started, missed or failed); the next one is computed from it.
    last_fire_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.cron} ({self.timezone})"


class ScheduleFireOutcome(models.TextChoices):
    STARTED = "started", "Started"
    MISSED = "missed", "Missed (no worker was running)"
    FAILED = "failed", "Failed to start"


class ScheduleFire(models.Model):
    """One fire time of a schedule. The unique constraint is what makes several workers start one run."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="fires")
    fire_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=ScheduleFireOutcome.choices)
    reason = models.TextField(blank=True)
    execution = models.ForeignKey("executions.Execution", null=True, blank=True, on_delete=models.SET_NULL)
    worker = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-fire_at"]
        constraints = [models.UniqueConstraint(fields=["schedule", "fire_at"], name="one_fire_per_schedule_time")]
        # Every tick looks for claims left without a run (schedules.fires_orphaned_close): only those rows.
        indexes = [
            models.Index(
                fields=["recorded_at"],
                condition=models.Q(outcome="started", execution__isnull=True),
                name="schedule_fire_unlinked",
            )
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id} at {self.fire_at:%Y-%m-%d %H:%M} ({self.outcome})"


class NotificationChannel(models.TextChoices):
    EMAIL = "email", "Email"
    APPRISE = "apprise", "Apprise URL (webhook, Slack, Teams …) kept in a credential"


class NotificationEvent(models.TextChoices):
    STARTED = "started", "Started"
    WAITING = "waiting", "Waiting for approval"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"
    SUCCEEDED = "succeeded", "Succeeded"


class Notification(models.Model):
    """A subscription of a runbook: who hears of which events of its runs, and how.

    Email goes to one user or a group's members; an apprise channel goes to the URL kept as the
    secret of a credential (so the webhook token in it is encrypted and never shown back).
    """

    runbook = models.ForeignKey("runbooks.Runbook", on_delete=models.CASCADE, related_name="notifications")
    events = models.JSONField(default=list)
    channel = models.CharField(max_length=10, choices=NotificationChannel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    credential = models.ForeignKey(
        "credentials.Credential", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="created_notifications"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, group__isnull=True, credential__isnull=True)
                    | models.Q(user__isnull=True, group__isnull=False, credential__isnull=True)
                    | models.Q(user__isnull=True, group__isnull=True, credential__isnull=False)
                ),
                name="notification_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.target} on {', '.join(self.events)}"

    @property
    def target(self) -> str:
        if self.user_id:
            return self.user.get_username()
        if self.group_id:
            return f"group:{self.group.name}"
        return str(self.credential_id)


class AttemptStatus(models.TextChoices):
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (will retry)"
    GAVE_UP = "gave_up", "Failed (gave up)"
    SKIPPED = "skipped", "Skipped"


class NotificationAttempt(models.Model):
    """One try at sending one event of one run through one subscription. Masked like output."""

    notification = models.ForeignKey(Notification, null=True, on_delete=models.SET_NULL, related_name="attempts")
    runbook = models.ForeignKey("runbooks.Runbook", on_delete=models.CASCADE, related_name="+")
    execution = models.ForeignKey("executions.Execution", on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=10, choices=NotificationEvent.choices)
    channel = models.CharField(max_length=10, choices=NotificationChannel.choices)
    # Email addresses, or "credential <name>": never the apprise URL itself.
    recipients = models.TextField(blank=True)
    number = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=AttemptStatus.choices)
    subject = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["execution", "event"])]

    def __str__(self) -> str:
        return f"{self.event} of {self.execution_id} via {self.channel} #{self.number}: {self.status}"
