"""Every bad input to POST and PATCH /api/v1/runbooks/: a clear 400/413 with field errors, nothing saved."""

import json

import pytest

from apps.audit.models import AuditEvent
from apps.runbooks.models import Block, Runbook

KIB = 1024


def block(key: str, kind: str = "timer", **config) -> dict:
    return {"key": key, "kind": kind, "config": config or {"seconds": 5}}


# (id, body, status, expected error excerpt: a path into the answer and a fragment of its message)
BAD_INPUTS = [
    (
        "config-breaks-its-schema",
        {"blocks": [block("ok"), block("call", "api_call", method="GET", url="ftp://example.com")]},
        400,
        (("blocks", 1, "config", "url", 0), "http"),
    ),
    (
        "config-with-unknown-field",
        {"blocks": [block("wait", seconds=5, minutes=2)]},
        400,
        (("blocks", 0, "config", "minutes", 0), "Unknown field"),
    ),
    (
        "config-not-an-object",
        {"blocks": [{"key": "wait", "kind": "timer", "config": "5 seconds"}]},
        400,
        (("blocks", 0, "config", "config", 0), "object"),
    ),
    ("unknown-kind", {"blocks": [{"key": "x", "kind": "ssh", "config": {}}]}, 400, (("blocks", 0, "kind", 0), "ssh")),
    (
        "kind-a-list",
        {"blocks": [block("ok"), {"key": "x", "kind": ["timer"], "config": {}}]},
        400,
        (("blocks", 1, "kind", 0), "block kind"),
    ),
    (
        "duplicate-key",
        {"blocks": [block("same"), block("same")]},
        400,
        (("blocks", 1, "key", 0), "used by another block"),
    ),
    ("non-slug-key", {"blocks": [block("two words")]}, 400, (("blocks", 0, "key", 0), "not a valid key")),
    ("missing-key", {"blocks": [{"kind": "timer", "config": {"seconds": 5}}]}, 400, (("blocks", 0, "key", 0), "")),
    (
        "goto-backwards",
        {
            "blocks": [
                block("first"),
                {"key": "check", "kind": "conditional", "config": {"expression": "true", "on_false": "goto:first"}},
            ]
        },
        400,
        (("blocks", 1, "config", "on_false", 0), "forward"),
    ),
    ("description-over-256-kib", {"description": "x" * (256 * KIB + 1)}, 413, (("description", 0), "limit")),
    (
        "script-over-64-kib",
        {"blocks": [block("big", "command", script="x" * (64 * KIB + 1))]},
        413,
        (("blocks", 0), "limit"),
    ),
    ("over-200-blocks", {"blocks": [block(f"b{number}") for number in range(201)]}, 413, (("blocks", 0), "200")),
    ("title-a-number", {"title": 5}, 400, (("title", 0), "text")),
    ("title-empty", {"title": "   "}, 400, (("title", 0), "required")),
    ("blocks-a-string", {"blocks": "x"}, 400, (("blocks", 0), "list")),
    ("blocks-null", {"blocks": None}, 400, (("blocks", 0), "list")),
    ("tags-an-object", {"tags": {}}, 400, (("tags", 0), "list")),
    ("tags-of-numbers", {"tags": [1, 2]}, 400, (("tags", 0), "list")),
    ("parameters-an-object", {"parameters": {"name": "X"}}, 400, (("parameters", 0), "list")),
    ("parameter-bad-name", {"parameters": [{"name": "1st"}]}, 400, (("parameters", 0, "name", 0), "letters")),
    ("environment-a-boolean", {"environment": True}, 400, (("environment", 0), "id")),
    ("environment-unknown", {"environment": 999999}, 400, (("environment", 0), "999999")),
    ("unknown-field", {"colour": "red"}, 400, (("colour", 0), "Unknown")),
    ("read-only-field", {"owner": "outsider"}, 400, (("owner", 0), "read-only")),
]


def error_at(answer, path):
    for step in path:
        answer = answer[step]
    return answer


def snapshot(pk: int) -> tuple:
    runbook = Runbook.objects.get(pk=pk)
    return (
        Runbook.objects.count(),
        Runbook.objects.filter(pk=pk).values().get(),
        sorted(runbook.tags.names()),
        list(Block.objects.values_list("runbook_id", "key", "title", "kind", "config", "position")),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize(
    ("body", "status", "expected"), [row[1:] for row in BAD_INPUTS], ids=[r[0] for r in BAD_INPUTS]
)
def test_post_refuses_bad_input_and_creates_nothing(cast, api_for, body, status, expected):
    api = api_for(cast.owner)
    before = snapshot(cast.runbook.pk)
    response = api.post("/api/v1/runbooks/", {"title": "Bad", **body}, format="json")
    assert response.status_code == status, response.json()
    path, fragment = expected
    assert fragment in error_at(response.json(), path)
    assert snapshot(cast.runbook.pk) == before


@pytest.mark.parametrize(
    ("body", "status", "expected"), [row[1:] for row in BAD_INPUTS], ids=[r[0] for r in BAD_INPUTS]
)
def test_patch_refuses_bad_input_and_changes_nothing(cast, api_for, body, status, expected):
    api = api_for(cast.editor)
    before = snapshot(cast.runbook.pk)
    response = api.patch(
        f"/api/v1/runbooks/{cast.runbook.pk}/",
        {**body, "title": body.get("title", "Bad"), "revision": 1},
        format="json",
    )
    assert response.status_code == status, response.json()
    path, fragment = expected
    assert fragment in error_at(response.json(), path)
    assert snapshot(cast.runbook.pk) == before


def test_post_without_a_title_is_refused(cast, api_for):
    api = api_for(cast.owner)
    response = api.post("/api/v1/runbooks/", {"description": "No title"}, format="json")
    assert response.status_code == 400
    assert response.json()["title"] == ["A title is required."]


def test_every_unknown_field_is_named(cast, api_for):
    response = api_for(cast.owner).post("/api/v1/runbooks/", {"title": "X", "a": 1, "b": 2}, format="json")
    assert response.status_code == 400
    assert {"a", "b"} <= set(response.json())


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"title"', b"null", b"42"], ids=["list", "string", "null", "number"])
def test_a_body_that_is_not_an_object_is_refused(cast, api_for, raw):
    api = api_for(cast.owner)
    for method, path in (("post", "/api/v1/runbooks/"), ("patch", f"/api/v1/runbooks/{cast.runbook.pk}/")):
        response = getattr(api, method)(path, raw, content_type="application/json")
        assert response.status_code == 400, (method, response.content)
    assert Runbook.objects.count() == 1


def test_malformed_json_is_400(cast, api_for):
    response = api_for(cast.owner).post("/api/v1/runbooks/", b'{"title": ', content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]
    assert Runbook.objects.count() == 1


def test_a_form_encoded_body_is_refused(cast, api_for):
    response = api_for(cast.owner).post("/api/v1/runbooks/", {"title": "Form"})
    assert response.status_code == 415
    assert Runbook.objects.count() == 1


def test_a_body_over_16_mib_is_413_before_parsing(cast, api_for):
    huge = json.dumps({"title": "Huge", "description": "x" * (16 * KIB * KIB)}).encode()
    api = api_for(cast.owner)
    before = snapshot(cast.runbook.pk)
    created = api.post("/api/v1/runbooks/", huge, content_type="application/json")
    patched = api.patch(f"/api/v1/runbooks/{cast.runbook.pk}/", huge, content_type="application/json")
    assert created.status_code == 413
    assert "16,777,216 bytes" in created.json()["non_field_errors"][0]
    assert patched.status_code == 413
    assert snapshot(cast.runbook.pk) == before


def test_a_valid_runbook_bigger_than_djangos_form_limit_is_accepted(cast, api_for):
    # 50 scripts of 60 KiB: over Django's 2.5 MiB DATA_UPLOAD_MAX_MEMORY_SIZE, within every runbook limit.
    blocks = [block(f"step-{number}", "command", script="x" * (60 * KIB)) for number in range(50)]
    response = api_for(cast.owner).post("/api/v1/runbooks/", {"title": "Long", "blocks": blocks}, format="json")
    assert response.status_code == 201, response.content[:300]
    assert Block.objects.filter(runbook_id=response.json()["id"]).count() == 50


ODD_VALUES = [None, 0, -1, 1.5, True, "", "x", [], [None], {}, {"a": {}}]
VALID_CONFIGS = {
    "instruction": {"markdown": "Read this.", "gate": "none"},
    "command": {"script": "true", "shell": "sh", "timeout_seconds": 5, "credentials": [], "continue_on_error": False},
    "api_call": {
        "method": "GET",
        "url": "https://example.com/",
        "headers": {},
        "body": "",
        "credential": None,
        "expected_status": [200],
        "timeout_seconds": 5,
        "continue_on_error": False,
    },
    "conditional": {"expression": "true", "on_true": "continue", "on_false": "stop"},
    "timer": {"seconds": 5},
}


@pytest.mark.parametrize("kind", VALID_CONFIGS)
def test_odd_json_values_in_any_config_field_never_cause_a_server_error(cast, api_for, kind):
    api = api_for(cast.owner)
    for field in VALID_CONFIGS[kind]:
        for value in ODD_VALUES:
            config = {**VALID_CONFIGS[kind], field: value}
            body = {"title": "Odd", "blocks": [{"key": "odd", "kind": kind, "config": config}]}
            response = api.post("/api/v1/runbooks/", body, format="json")
            assert response.status_code in (201, 400), (field, value, response.content[:300])
            if response.status_code == 400:
                assert "blocks" in response.json()


@pytest.mark.parametrize("field", ["title", "description", "tags", "environment", "parameters", "blocks"])
def test_odd_json_values_in_any_top_level_field_never_cause_a_server_error(cast, api_for, field):
    api = api_for(cast.owner)
    for value in [*ODD_VALUES, [{}], [5], [[]], [{"key": 5, "kind": [], "config": None, "title": {}}]]:
        response = api.post("/api/v1/runbooks/", {"title": "Odd", field: value}, format="json")
        assert response.status_code in (201, 400), (value, response.content[:300])
        if response.status_code == 400:
            assert field in response.json()
