"""Shapes of the runbook API (DESIGN.md "Public API").

Output serializers render runbooks; the input serializers only document request bodies in the
OpenAPI schema. Validation of input is the services' job (apps.runbooks.services), so the browser,
the API and the admin can never disagree on a rule.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.blocks.kinds import BlockKind
from apps.core.markdown import render_markdown
from apps.runbooks.models import Block, Runbook
from apps.runbooks.roles import Role


class ParameterSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    default = serializers.CharField(allow_null=True)
    required = serializers.BooleanField()
    choices = serializers.ListField(child=serializers.CharField(), allow_null=True)


class BlockSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=64)
    title = serializers.CharField(allow_blank=True)
    kind = serializers.ChoiceField(choices=BlockKind.choices)
    config = serializers.DictField(
        help_text="By kind: instruction {markdown, gate}; command {script, shell, timeout_seconds, credentials, "
        "continue_on_error}; api_call {method, url, headers, body, credential, expected_status, timeout_seconds, "
        "continue_on_error, follow_redirects}; conditional {expression, on_true, on_false}; timer {seconds}."
    )

    def to_representation(self, block: Block) -> dict:
        return {"key": block.key, "title": block.title, "kind": block.kind, "config": block.config}


class RunbookSerializer(serializers.Serializer):
    """A runbook's draft. Expects the queryset of `runbook_api_queryset` (tags, blocks prefetched)."""

    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField()
    description = serializers.CharField()
    description_html = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    environment = serializers.IntegerField(source="environment_id", allow_null=True)
    parameters = ParameterSerializer(many=True)
    blocks = serializers.SerializerMethodField()
    revision = serializers.IntegerField()
    published_version = serializers.IntegerField(allow_null=True)
    owner = serializers.CharField(source="owner.username")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_description_html(self, runbook: Runbook) -> str:
        return render_markdown(runbook.description)

    def get_tags(self, runbook: Runbook) -> list[str]:
        # Sorted in Python: the prefetch has no order and a second query per runbook would defeat it.
        return sorted(tag.name for tag in runbook.tags.all())

    @extend_schema_field(BlockSerializer(many=True))
    def get_blocks(self, runbook: Runbook) -> list[dict]:
        return [BlockSerializer().to_representation(block) for block in runbook.blocks.all()]


class PaginatedRunbookSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RunbookSerializer(many=True)


class RunbookCreateSerializer(serializers.Serializer):
    """Request body of POST /api/v1/runbooks/ (documentation only; the services validate)."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, help_text="Markdown, at most 256 KiB.")
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    environment = serializers.IntegerField(required=False, allow_null=True)
    parameters = ParameterSerializer(many=True, required=False)
    blocks = BlockSerializer(many=True, required=False, help_text="The ordered list; at most 200 blocks.")


class RunbookPatchSerializer(RunbookCreateSerializer):
    """Request body of PATCH /api/v1/runbooks/{id}/: any fields plus the revision they were based on."""

    title = serializers.CharField(max_length=200, required=False)
    blocks = BlockSerializer(many=True, required=False, help_text="When given, replaces the ordered list.")
    revision = serializers.IntegerField(help_text="The revision the change is based on; a stale one answers 409.")


class RunbookAccessEntrySerializer(serializers.Serializer):
    principal = serializers.CharField(help_text="user:NAME or group:NAME")
    role = serializers.ChoiceField(choices=Role.choices)


class StaleRevisionSerializer(serializers.Serializer):
    detail = serializers.CharField()
    revision = serializers.IntegerField()
    changed_by = serializers.CharField(allow_null=True)
    changed_at = serializers.DateTimeField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
