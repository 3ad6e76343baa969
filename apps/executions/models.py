from django.conf import settings
from django.db import models


class ExecutionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    TIMED_OUT = "timed_out", "Timed out"
    INCOMPLETE = "incomplete", "Incomplete (worker lost)"


FINAL_EXECUTION_STATUSES = frozenset(
    {
        ExecutionStatus.SUCCEEDED,
        ExecutionStatus.FAILED,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.TIMED_OUT,
        ExecutionStatus.INCOMPLETE,
    }
)


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"
    TIMED_OUT = "timed_out", "Timed out"


FINAL_STEP_STATUSES = frozenset(
    {StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED, StepStatus.TIMED_OUT}
)


class Execution(models.Model):
    """One run of a runbook: the exact content it ran, who started it, and how it ended."""

    class Mode(models.TextChoices):
        FULL = "full", "Whole runbook"
        BLOCK = "block", "Single block"

    # PROTECT: a runbook with executions is archived, never deleted, so history stays whole.
    runbook = models.ForeignKey("runbooks.Runbook", on_delete=models.PROTECT, related_name="executions")
    version = models.ForeignKey(
        "runbooks.RunbookVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="executions"
    )
    draft = models.BooleanField(default=False)
    # The runbook content exactly as run (same shape as a version snapshot), and the environment's
    # image and limits at start time, so history shows what really executed.
    snapshot = models.JSONField()
    environment = models.JSONField(default=dict)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.FULL)
    block_key = models.CharField(max_length=64, blank=True)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=ExecutionStatus.choices, default=ExecutionStatus.QUEUED)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="executions"
    )
    # Set (with triggered_by left null) when a trigger or a schedule of apps.automation started the run.
    trigger = models.ForeignKey(
        "automation.Trigger", null=True, blank=True, on_delete=models.SET_NULL, related_name="executions"
    )
    schedule = models.ForeignKey(
        "automation.Schedule", null=True, blank=True, on_delete=models.SET_NULL, related_name="executions"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Where the walk resumes after a wait (gate, timer) or a worker hand-over.
    next_position = models.PositiveIntegerField(default=0)
    # The worker holding the run renews this lease; the reaper marks runs with an expired lease
    # `incomplete` instead of leaving them "running" forever.
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    worker_name = models.CharField(max_length=200, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["runbook", "-created_at"]),
            models.Index(fields=["status", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"Execution {self.pk} of runbook {self.runbook_id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_EXECUTION_STATUSES


class StepRun(models.Model):
    """One block's result inside an execution."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    block_key = models.CharField(max_length=64)
    kind = models.CharField(max_length=20)
    title = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=StepStatus.choices, default=StepStatus.PENDING)
    exit_code = models.IntegerField(null=True, blank=True)
    output_bytes = models.PositiveBigIntegerField(default=0)
    output_truncated = models.BooleanField(default=False)
    next_seq = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    container_id = models.CharField(max_length=80, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # True when a "retry from this step" copied this result from the failed run instead of running it.
    carried = models.BooleanField(default=False)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["execution", "position"], name="unique_step_position")]

    def __str__(self) -> str:
        return f"{self.block_key} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STEP_STATUSES


class OutputChunk(models.Model):
    """Masked output stored as it arrives, numbered so a reload or a reconnect misses nothing."""

    step_run = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    data = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["step_run", "seq"], name="unique_chunk_seq")]

    def __str__(self) -> str:
        return f"{self.step_run_id}#{self.seq}"
