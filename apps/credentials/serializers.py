"""The API's credential shape (DESIGN.md). `secret` is accepted on write and never answered."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.blocks.fields import HEADER_NAME_RE
from apps.core.schema import RequestBody
from apps.credentials.models import MAX_SECRET_LENGTH, MIN_SECRET_LENGTH, Credential, CredentialKind
from apps.credentials.services import NAME_RE


class CredentialSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=CredentialKind.choices)
    # Only for the schema: writes go to services with the raw request data.
    secret = serializers.CharField(write_only=True, required=False, style={"input_type": "password"})

    class Meta:
        model = Credential
        fields = [
            "id", "name", "kind", "username", "header_name", "description",
            "created_at", "updated_at", "last_used_at", "secret",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at", "last_used_at"]


class CredentialAccessEntrySerializer(RequestBody):
    principal = serializers.RegexField(r"^(user|group):.+$", help_text="user:NAME or group:NAME")
    role = serializers.ChoiceField(choices=["user", "owner"])


# Inline rather than a second reference to the response's enum, which drf-spectacular would then
# have to name by a hash (the block kinds are called `kind` too).
@extend_schema_field({"type": "string", "enum": list(CredentialKind.values)})
class CredentialKindField(serializers.ChoiceField):
    pass


class CredentialWriteSerializer(RequestBody):
    """Request body of POST (all of name, kind, secret) and PATCH (any) on /api/v1/credentials/."""

    name = serializers.RegexField(NAME_RE.pattern, max_length=100, help_text="Unique, ignoring case.")
    kind = CredentialKindField(choices=CredentialKind.choices)
    username = serializers.RegexField(
        r"^[^:\r\n]*$", max_length=200, required=False, allow_blank=True, help_text="Required for basic."
    )
    header_name = serializers.RegexField(
        HEADER_NAME_RE.pattern.replace("]+$", "]*$"),
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="Required for header, e.g. X-Api-Key.",
    )
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    # Printable ASCII: token, basic and header secrets travel in an HTTP header (a `secret` kind may
    # hold any text but NUL; the schema states the rule that holds for every kind).
    secret = serializers.RegexField(
        r"^[ -~\t]*$",
        min_length=MIN_SECRET_LENGTH,
        max_length=MAX_SECRET_LENGTH,
        write_only=True,
        style={"input_type": "password"},
        help_text="Write-only; never answered.",
    )
