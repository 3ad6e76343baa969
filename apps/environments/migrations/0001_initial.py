# The model moved here from apps.executions (issue 14). Its table keeps its name and its rows, so
# this creates the model in Django's state only; executions 0005 removes it from there.

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("executions", "0004_executionenvironment_runtime"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ExecutionEnvironment",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=100, unique=True)),
                        ("image", models.CharField(blank=True, help_text="Image reference, e.g. alpine:3.20", max_length=255)),
                        ("dockerfile", models.TextField(blank=True, help_text="Inline Dockerfile the platform builds instead of an image")),
                        ("network", models.CharField(choices=[("none", "No network"), ("bridge", "Bridge (outbound network)")], default="none", max_length=10)),
                        ("runtime", models.CharField(choices=[("runc", "runc (Docker's default)"), ("runsc", "runsc (gVisor sandbox)")], default="runc", max_length=10)),
                        ("memory_mb", models.PositiveIntegerField(default=256, validators=[django.core.validators.MinValueValidator(16), django.core.validators.MaxValueValidator(65536)])),
                        ("cpus", models.DecimalField(decimal_places=2, default=1, max_digits=5, validators=[django.core.validators.MinValueValidator(0.1), django.core.validators.MaxValueValidator(64)])),
                        ("pids_limit", models.PositiveIntegerField(default=128, validators=[django.core.validators.MinValueValidator(8), django.core.validators.MaxValueValidator(32768)])),
                        ("timeout_seconds", models.PositiveIntegerField(default=3600, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(86400)])),
                        ("env", models.JSONField(blank=True, default=dict)),
                        ("is_default", models.BooleanField(default=False)),
                        ("build_status", models.CharField(choices=[("none", "Not built"), ("building", "Building"), ("ready", "Ready"), ("failed", "Failed")], default="none", max_length=10)),
                        ("built_image", models.CharField(blank=True, max_length=255)),
                        ("build_log", models.TextField(blank=True)),
                        ("built_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "db_table": "executions_executionenvironment",
                        "ordering": ["name"],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
