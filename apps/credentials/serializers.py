"""The API's credential shape (DESIGN.md). `secret` is accepted on write and never answered."""

from rest_framework import serializers

from apps.credentials.models import Credential, CredentialKind


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


class CredentialAccessEntrySerializer(serializers.Serializer):
    principal = serializers.CharField(help_text="user:NAME or group:NAME")
    role = serializers.ChoiceField(choices=["user", "owner"])
