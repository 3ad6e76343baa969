"""/api/schema/ documents the runbook API's real shapes; /api/docs/ works without any CDN."""

import json
import re

import pytest
import yaml
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

RUNBOOK_KEYS = {
    "id", "uuid", "title", "description", "description_html", "tags", "environment", "parameters", "blocks",
    "revision", "published_version", "owner", "created_at", "updated_at",
}  # fmt: skip


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_is_valid_openapi_3_json(db, schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_the_schema_is_also_served_as_yaml(client, db):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/runbooks/" in document["paths"]


def test_the_schema_lists_every_runbook_route_and_method(db, schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/runbooks/"]) >= {"get", "post"}
    assert set(paths["/api/v1/runbooks/{id}/"]) >= {"get", "patch", "delete"}
    assert set(paths["/api/v1/runbooks/{id}/access/"]) >= {"get", "put"}


def test_the_schema_documents_the_runbook_shape(db, schema):
    components = schema["components"]["schemas"]
    assert set(components["Runbook"]["properties"]) == RUNBOOK_KEYS
    assert set(components["Block"]["properties"]) == {"key", "title", "kind", "config"}
    assert set(components["Parameter"]["properties"]) == {"name", "label", "default", "required", "choices"}
    assert set(components["PaginatedRunbook"]["properties"]) == {"count", "next", "previous", "results"}
    patch = components["PatchedRunbookPatch"]
    assert "revision" in patch["properties"]


def test_the_schema_documents_bearer_tokens(db, schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token: `Authorization: Bearer rbk_…`.",
    }
    assert {"bearerAuth": []} in schema["paths"]["/api/v1/runbooks/"]["get"]["security"]


def test_the_stale_revision_answer_is_documented(db, schema):
    responses = schema["paths"]["/api/v1/runbooks/{id}/"]["patch"]["responses"]
    assert {"200", "400", "403", "404", "409", "413"} <= set(responses)


def test_the_docs_page_loads_everything_from_our_own_static_files(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE) == []
    assert "cdn" not in html.lower()


def test_the_runbook_routes_generate_without_warnings_or_errors(db):
    GENERATOR_STATS.reset()
    SchemaGenerator(patterns=None).get_schema(request=None, public=True)
    problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    ours = [message for message in problems if "apps/runbooks/api" in message or "runbooks/serializers" in message]
    assert ours == []


@pytest.mark.parametrize("kind", ["Instruction", "Command", "ApiCall", "Conditional", "Timer"])
def test_every_block_configs_request_shape_carries_a_files_free_attributes(db, schema, kind):
    # An imported file's unknown fence attributes live in config.attributes; a client following the
    # schema (additionalProperties: false) could not send them back if the schema left them out.
    attributes = schema["components"]["schemas"][f"{kind}Config"]["properties"]["attributes"]
    assert attributes["type"] == "object" and attributes["maxProperties"] == 32
    assert attributes["additionalProperties"]["type"] == "string"


def test_a_block_saved_with_attributes_through_the_api_keeps_them(cast, api_for):
    api = api_for(cast.owner)
    runbook = cast.runbook
    blocks = [
        {"key": "look", "kind": "command", "config": {"script": "uptime", "attributes": {"interactive": "false"}}},
    ]
    answer = api.patch(
        f"/api/v1/runbooks/{runbook.pk}/", {"blocks": blocks, "revision": runbook.revision}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["blocks"][0]["config"]["attributes"] == {"interactive": "false"}
    refused = api.patch(
        f"/api/v1/runbooks/{runbook.pk}/",
        {"blocks": [{**blocks[0], "config": {"script": "uptime", "attributes": {"name": "x"}}}],
         "revision": answer.json()["revision"]},
        format="json",
    )  # fmt: skip
    assert refused.status_code == 400
    assert "not a free attribute" in json.dumps(refused.json())
