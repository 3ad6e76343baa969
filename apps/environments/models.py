from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class ExecutionEnvironment(models.Model):
    """A Docker image and the limits every command step of a runbook runs under."""

    class Network(models.TextChoices):
        NONE = "none", "No network"
        BRIDGE = "bridge", "Bridge (outbound network)"

    class Runtime(models.TextChoices):
        RUNC = "runc", "runc (Docker's default)"
        RUNSC = "runsc", "runsc (gVisor sandbox)"

    name = models.CharField(max_length=100, unique=True)
    image = models.CharField(max_length=255, blank=True, help_text="Image reference, e.g. alpine:3.20")
    dockerfile = models.TextField(blank=True, help_text="Inline Dockerfile the platform builds instead of an image")
    network = models.CharField(max_length=10, choices=Network.choices, default=Network.NONE)
    # gVisor (runsc) puts a user-space kernel between the step and the host's: a stronger wall for
    # scripts one trusts less, at some start-up and syscall cost. The engine must have it registered.
    runtime = models.CharField(max_length=10, choices=Runtime.choices, default=Runtime.RUNC)
    memory_mb = models.PositiveIntegerField(default=256, validators=[MinValueValidator(16), MaxValueValidator(65536)])
    cpus = models.DecimalField(
        max_digits=5, decimal_places=2, default=1, validators=[MinValueValidator(0.1), MaxValueValidator(64)]
    )
    pids_limit = models.PositiveIntegerField(default=128, validators=[MinValueValidator(8), MaxValueValidator(32768)])
    timeout_seconds = models.PositiveIntegerField(
        default=3600, validators=[MinValueValidator(1), MaxValueValidator(86400)]
    )
    env = models.JSONField(default=dict, blank=True)
    is_default = models.BooleanField(default=False)
    # An inline Dockerfile is built by the platform and tagged by its content hash.
    build_status = models.CharField(
        max_length=10,
        choices=[("none", "Not built"), ("building", "Building"), ("ready", "Ready"), ("failed", "Failed")],
        default="none",
    )
    built_image = models.CharField(max_length=255, blank=True)
    build_log = models.TextField(blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The table keeps the name it had in apps.executions: the model moved, the rows did not.
        db_table = "executions_executionenvironment"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
