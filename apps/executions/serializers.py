"""Shapes of the executions API (DESIGN.md "Public API": execution, step).

Output is built from rows already loaded by the API views (steps and chunks in bulk), so an
answer costs a fixed number of queries. Input serializers only document request bodies.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.schema import RequestBody
from apps.executions.models import Execution, ExecutionStatus, StepRun, StepStatus


class StepSerializer(serializers.Serializer):
    block = serializers.CharField(source="block_key")
    kind = serializers.CharField()
    # Text with the values listed, not an enum: two enums named "status" would collide in the schema.
    status = serializers.CharField(help_text="One of: " + ", ".join(StepStatus.values))
    exit_code = serializers.IntegerField(allow_null=True)
    output = serializers.CharField(help_text="The stored output: masked, and cut at the per-step cap.")
    output_truncated = serializers.BooleanField()
    result = serializers.DictField(
        help_text="Kind-specific: api_call {status_code, headers, json}; conditional {value, action}."
    )
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    confirmed_by = serializers.CharField(allow_null=True)

    def to_representation(self, step: StepRun) -> dict:
        return {
            "block": step.block_key,
            "kind": step.kind,
            "status": step.status,
            "exit_code": step.exit_code,
            "output": getattr(step, "joined_output", ""),
            "output_truncated": step.output_truncated,
            "result": step.result,
            "started_at": _time(step.started_at),
            "finished_at": _time(step.finished_at),
            "confirmed_by": step.confirmed_by.get_username() if step.confirmed_by else None,
        }


def _time(value):
    return serializers.DateTimeField().to_representation(value) if value else None


class ExecutionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    runbook = serializers.IntegerField()
    version = serializers.IntegerField(allow_null=True, help_text="The published version that ran; null for the draft.")
    draft = serializers.BooleanField()
    mode = serializers.ChoiceField(choices=Execution.Mode.choices)
    block = serializers.CharField(allow_null=True)
    params = serializers.DictField(child=serializers.CharField())
    status = serializers.CharField(help_text="One of: " + ", ".join(ExecutionStatus.values))
    triggered_by = serializers.CharField(allow_null=True)
    trigger = serializers.DictField(allow_null=True, help_text="{kind, id, name} of the trigger that started it.")
    schedule = serializers.DictField(allow_null=True, help_text="{id} of the schedule that started it.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, execution: Execution) -> dict:
        return {
            "id": execution.pk,
            "runbook": execution.runbook_id,
            "version": execution.version.number if execution.version_id else None,
            "draft": execution.draft,
            "mode": execution.mode,
            "block": execution.block_key or None,
            "params": execution.params,
            "status": execution.status,
            "triggered_by": execution.triggered_by.get_username() if execution.triggered_by else None,
            # Runs a trigger or a schedule started (apps.automation); triggered_by is then null.
            "trigger": (
                {"kind": execution.trigger.kind, "id": execution.trigger_id, "name": execution.trigger.name}
                if execution.trigger_id
                else None
            ),
            "schedule": {"id": execution.schedule_id} if execution.schedule_id else None,
            "created_at": _time(execution.created_at),
            "started_at": _time(execution.started_at),
            "finished_at": _time(execution.finished_at),
        }


class ExecutionDetailSerializer(ExecutionSerializer):
    steps = StepSerializer(many=True)

    def to_representation(self, execution: Execution) -> dict:
        data = super().to_representation(execution)
        data["steps"] = [StepSerializer().to_representation(step) for step in execution.step_list]
        return data


class PaginatedExecutionSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ExecutionSerializer(many=True)


# A block key, as apps.runbooks.validation accepts it.
KEY_PATTERN = r"^[-a-zA-Z0-9_]+$"


@extend_schema_field(
    {
        "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": ["draft"]}],
        "nullable": True,
        "description": 'A published version number; null = the latest published; "draft" = the draft (editors).',
    }
)
class VersionChoiceField(serializers.Field):
    """A version number, "draft" or null."""


class ExecutionCreateSerializer(RequestBody):
    params = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="{name: text value} for the runbook's parameters"
    )
    block = serializers.RegexField(
        KEY_PATTERN,
        required=False,
        allow_null=True,
        help_text="A block key for a single-block run; null runs the whole runbook.",
    )
    version = VersionChoiceField(required=False)


class DecisionSerializer(RequestBody):
    decision = serializers.ChoiceField(
        choices=["continue", "approve", "reject"],
        required=False,
        help_text='Default: "continue" for a confirm gate, "approve" for an approval gate.',
    )


RetrySerializer = type(
    "RetrySerializer",
    (RequestBody,),
    # "from" is a Python keyword, so the field cannot be a class attribute.
    {
        "from": serializers.RegexField(KEY_PATTERN, help_text="The key of the step to start again from."),
        "__doc__": "Request body of POST /api/v1/executions/{id}/retry/.",
    },
)
