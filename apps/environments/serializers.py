from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.schema import NON_BLANK, RequestBody
from apps.environments.models import ExecutionEnvironment
from apps.environments.validation import CPU_RANGE, IMAGE_RE, LIMITS, MAX_ENV_ENTRIES, MAX_ENV_VALUE_BYTES


class EnvironmentSerializer(serializers.ModelSerializer):
    """DESIGN.md's environment shape, plus the read-only state of a Dockerfile build."""

    cpus = serializers.FloatField()
    env = serializers.DictField(child=serializers.CharField(), required=False)

    class Meta:
        model = ExecutionEnvironment
        fields = [
            "id", "name", "image", "dockerfile", "network", "runtime", "memory_mb", "cpus", "pids_limit",
            "timeout_seconds", "env", "is_default", "build_status", "built_image", "built_at",
        ]  # fmt: skip
        read_only_fields = fields


def _limit(field: str, default: int) -> serializers.IntegerField:
    low, high, unit = LIMITS[field]
    return serializers.IntegerField(
        min_value=low, max_value=high, required=False, help_text=f"{unit}; default {default}"
    )


@extend_schema_field(
    {"type": "object", "additionalProperties": {"type": "string", "maxLength": MAX_ENV_VALUE_BYTES // 4}}
)
class EnvField(serializers.DictField):
    """Variables set in every container of the environment."""


@extend_schema_field(
    {
        "type": "number",
        # Quarter steps are exact in binary floating point, so a client's float reads back as sent;
        # the API takes any value with at most two decimals in the range.
        "multipleOf": 0.25,
        "minimum": 0.25,
        "maximum": float(CPU_RANGE[1]),
        "description": f"From {CPU_RANGE[0]} to {CPU_RANGE[1]} CPUs, at most two decimals; default 1.",
    }
)
class CpusField(serializers.FloatField):
    pass


class EnvironmentWriteSerializer(RequestBody):
    """Request body of POST (name and one of image or dockerfile) and PATCH (any) on /api/v1/environments/."""

    exactly_one_of = (("image",), ("dockerfile",))

    name = serializers.RegexField(NON_BLANK, max_length=100, help_text="Unique, ignoring case.")
    image = serializers.RegexField(
        IMAGE_RE.pattern, max_length=255, required=False, help_text="An image reference; or give a dockerfile."
    )
    dockerfile = serializers.RegexField(
        r"^FROM [a-z0-9]+\n", required=False, help_text="A Dockerfile to build (at most 64 KiB), instead of an image."
    )
    network = serializers.ChoiceField(choices=ExecutionEnvironment.Network.choices, required=False)
    runtime = serializers.ChoiceField(
        choices=ExecutionEnvironment.Runtime.choices,
        required=False,
        help_text="runc (default) or runsc (gVisor); the Docker engine must report it.",
    )
    memory_mb = _limit("memory_mb", 256)
    cpus = CpusField(required=False)
    pids_limit = _limit("pids_limit", 128)
    timeout_seconds = _limit("timeout_seconds", 3600)
    env = EnvField(
        required=False,
        help_text=f"At most {MAX_ENV_ENTRIES} variables; names use A–Z, 0–9 and _, not starting with a digit.",
    )
    is_default = serializers.BooleanField(required=False)
