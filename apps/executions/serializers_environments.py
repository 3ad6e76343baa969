from rest_framework import serializers

from apps.executions.models import ExecutionEnvironment


class EnvironmentSerializer(serializers.ModelSerializer):
    """DESIGN.md's environment shape, plus the read-only state of a Dockerfile build."""

    cpus = serializers.FloatField()
    env = serializers.DictField(child=serializers.CharField(), required=False)

    class Meta:
        model = ExecutionEnvironment
        fields = [
            "id", "name", "image", "dockerfile", "network", "memory_mb", "cpus", "pids_limit",
            "timeout_seconds", "env", "is_default", "build_status", "built_image", "built_at",
        ]  # fmt: skip
        read_only_fields = fields
