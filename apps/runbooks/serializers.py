"""Shapes of the runbook API (DESIGN.md "Public API").

Output serializers render runbooks; the input serializers only document request bodies in the
OpenAPI schema. Validation of input is the services' job (apps.runbooks.services), so the browser,
the API and the admin can never disagree on a rule.
"""

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from apps.blocks.kinds import HTTP_METHODS, MAX_ATTRIBUTES, BlockKind
from apps.core.markdown import render_markdown
from apps.core.schema import NON_BLANK, RequestBody
from apps.runbooks.models import Block, Runbook
from apps.runbooks.roles import Role
from apps.runbooks.validation import MAX_PARAMETERS, MAX_TAGS, PARAMETER_NAME_RE


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
    uuid = serializers.UUIDField(read_only=True, help_text="Stable across exports and imports (a file's runbooks.id).")
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


# Request bodies. They document what the services accept (apps.runbooks.validation, apps.blocks.kinds),
# so that a client generated from /api/schema/ sends what the API takes; the services still validate.
KEY_PATTERN = r"^[-a-zA-Z0-9_]+$"
ACTION_PATTERN = r"^(continue|stop|fail|goto:[-a-zA-Z0-9_]+)$"
# Django's URLValidator wants a dotted host name with short labels (or an IP): the schema narrows to
# plain host names and paths.
URL_PATTERN = r"^https?://[a-z0-9]{1,20}(\.[a-z0-9]{1,20}){0,3}\.[a-z]{2,12}(/[A-Za-z0-9._~-]{0,40}){0,4}$"


class ParameterInputSerializer(RequestBody):
    name = serializers.RegexField(PARAMETER_NAME_RE.pattern, help_text="Letters, digits and _; names ignore case.")
    label = serializers.CharField(max_length=200, required=False, allow_blank=True)
    default = serializers.CharField(
        allow_null=True, required=False, allow_blank=True, help_text="One of the choices, when choices are given."
    )
    required = serializers.BooleanField(required=False)
    choices = serializers.ListField(
        child=serializers.CharField(min_length=1),
        allow_null=True,
        required=False,
        help_text="Non-empty texts, or null.",
    )


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": MAX_ATTRIBUTES,
        "additionalProperties": {"type": "string", "maxLength": 2000},
        "description": "A Markdown fence's attributes no field stands for (Runme's `interactive`, …), kept for "
        "the next export. Names of 1 to 100 characters, but not `name` or `runbooks.*`.",
    }
)
class AttributesField(serializers.DictField):
    pass


class BlockConfig(RequestBody):
    """What every kind's config may carry besides its own fields (docs/runbook-format.md)."""

    attributes = AttributesField(required=False)


class InstructionConfigSerializer(BlockConfig):
    markdown = serializers.RegexField(NON_BLANK, help_text="Markdown, at most 256 KiB.")
    gate = serializers.ChoiceField(choices=["none", "confirm", "approval"], required=False, default="none")


class CommandConfigSerializer(BlockConfig):
    script = serializers.RegexField(NON_BLANK, help_text="At most 64 KiB.")
    shell = serializers.ChoiceField(choices=["sh", "bash"], required=False, default="sh")
    timeout_seconds = serializers.IntegerField(min_value=1, max_value=86400, required=False, default=300)
    credentials = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        help_text="Ids of credentials you hold the user (or owner) role on.",
    )
    continue_on_error = serializers.BooleanField(required=False, default=False)


class ApiCallConfigSerializer(BlockConfig):
    method = serializers.ChoiceField(choices=HTTP_METHODS, required=False, default="GET")
    url = serializers.RegexField(
        URL_PATTERN, max_length=2048, help_text="http(s) URL; {{ template }} parts are allowed too."
    )
    headers = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Header names: RFC 9110 token characters."
    )
    body = serializers.CharField(required=False, allow_blank=True, help_text="At most 1 MiB; a template.")
    credential = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="The id of a credential you hold the user role on."
    )
    expected_status = serializers.ListField(
        child=serializers.IntegerField(min_value=100, max_value=599), min_length=1, required=False
    )
    timeout_seconds = serializers.IntegerField(min_value=1, max_value=300, required=False, default=30)
    continue_on_error = serializers.BooleanField(required=False, default=False)
    follow_redirects = serializers.BooleanField(required=False, default=False)


class ConditionalConfigSerializer(BlockConfig):
    expression = serializers.CharField(
        max_length=2000, help_text="A sandboxed Jinja expression, e.g. `params.X == 'a'`."
    )
    on_true = serializers.RegexField(ACTION_PATTERN, max_length=80, required=False, default="continue")
    on_false = serializers.RegexField(ACTION_PATTERN, max_length=80, required=False, default="stop")


class TimerConfigSerializer(BlockConfig):
    seconds = serializers.IntegerField(min_value=1, max_value=86400)


CONFIG_SERIALIZERS: dict[str, type[BlockConfig]] = {
    BlockKind.INSTRUCTION: InstructionConfigSerializer,
    BlockKind.COMMAND: CommandConfigSerializer,
    BlockKind.API_CALL: ApiCallConfigSerializer,
    BlockKind.CONDITIONAL: ConditionalConfigSerializer,
    BlockKind.TIMER: TimerConfigSerializer,
}


def _block_input(kind: str, config: type[RequestBody]) -> type[RequestBody]:
    """The request shape of one kind of block: `kind` fixed, `config` that kind's (DESIGN.md "block")."""
    fields = {
        "key": serializers.RegexField(KEY_PATTERN, max_length=64, help_text="Unique in the runbook."),
        "title": serializers.CharField(max_length=200, required=False, allow_blank=True),
        "kind": serializers.ChoiceField(choices=[kind]),
        "config": config(),
        "__doc__": f"A block of kind {kind}.",
    }
    name = "".join(part.title() for part in kind.split("_")) + "BlockSerializer"
    return type(name, (RequestBody,), fields)


# Plain str keys: the YAML schema cannot represent the enum members themselves.
BLOCK_INPUTS = {str(kind.value): _block_input(str(kind.value), config) for kind, config in CONFIG_SERIALIZERS.items()}
BlockInput = PolymorphicProxySerializer(
    component_name="BlockInput",
    serializers=BLOCK_INPUTS,
    resource_type_field_name="kind",
    many=True,
)


@extend_schema_field(BlockInput)
class BlockListField(serializers.ListField):
    """A runbook's ordered blocks in a request: each one of the per-kind shapes, told apart by `kind`."""


class RunbookCreateSerializer(RequestBody):
    """Request body of POST /api/v1/runbooks/ (documentation only; the services validate)."""

    title = serializers.RegexField(NON_BLANK, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, help_text="Markdown, at most 256 KiB.")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50, allow_blank=True), max_length=MAX_TAGS, required=False
    )
    environment = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="An environment id; null for the default."
    )
    parameters = serializers.ListField(child=ParameterInputSerializer(), max_length=MAX_PARAMETERS, required=False)
    blocks = BlockListField(required=False, help_text="The ordered list; at most 200 blocks.")


class RunbookPatchSerializer(RunbookCreateSerializer):
    """Request body of PATCH /api/v1/runbooks/{id}/: any fields plus the revision they were based on."""

    always_required = ("revision",)

    title = serializers.RegexField(NON_BLANK, max_length=200, required=False)
    blocks = BlockListField(required=False, help_text="When given, replaces the ordered list.")
    revision = serializers.IntegerField(
        min_value=0, help_text="The revision the change is based on; a stale one answers 409."
    )


class RunbookAccessEntrySerializer(RequestBody):
    principal = serializers.RegexField(r"^(user|group):.+$", help_text="user:NAME or group:NAME")
    role = serializers.ChoiceField(choices=Role.choices)


class StaleRevisionSerializer(serializers.Serializer):
    detail = serializers.CharField()
    revision = serializers.IntegerField()
    changed_by = serializers.CharField(allow_null=True)
    changed_at = serializers.DateTimeField()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
