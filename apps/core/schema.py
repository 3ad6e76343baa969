"""What /api/schema/ says about request bodies, so it describes what the API really accepts."""

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

# Text the API takes (apps.core.text): no NUL, which PostgreSQL cannot store. (Lone surrogates
# cannot be written in a pattern, and no JSON encoder produces them from real text.)
TEXT = r"^[^\u0000]*$"
# The same, with at least one character that is not white space.
NON_BLANK = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


def _forbid_nul(schema) -> None:
    """Give every free-text string of a request schema the TEXT pattern, however deeply nested."""
    if isinstance(schema, list):
        for item in schema:
            _forbid_nul(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema):
        schema["pattern"] = TEXT
    for key in ("properties", "items", "additionalProperties", "oneOf", "anyOf", "allOf"):
        child = schema.get(key)
        if key == "properties" and isinstance(child, dict):
            _forbid_nul(list(child.values()))
        elif child is not None:
            _forbid_nul(child)


# Base of the serializers that document a request body (or one of its objects). The API refuses
# unknown fields with a 400 naming them, rather than dropping them unseen; the schema says so with
# `additionalProperties: false`, or generated clients and fuzzers would send extra fields that the
# schema allows and the API refuses. (A comment, not a docstring: drf-spectacular would publish it
# as the description of every subclass without one.)
class RequestBody(serializers.Serializer):
    # Fields required even in a PATCH body, where drf-spectacular makes every field optional.
    always_required: tuple[str, ...] = ()
    # Groups of fields of which a POST body carries exactly one group (oneOf, by `required`).
    exactly_one_of: tuple[tuple[str, ...], ...] = ()


class RequestBodyExtension(OpenApiSerializerExtension):
    target_class = RequestBody
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        # In responses too: nothing the API stores holds NUL.
        _forbid_nul(schema)
        schema["additionalProperties"] = False
        if self.target.exactly_one_of and auto_schema.method == "POST":
            schema["oneOf"] = [{"required": list(group)} for group in self.target.exactly_one_of]
        required = [*schema.get("required", []), *self.target.always_required]
        if required:
            schema["required"] = sorted(set(required))
        return schema
