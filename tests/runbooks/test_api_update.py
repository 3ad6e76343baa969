"""GET/PATCH/DELETE /api/v1/runbooks/{id}/: revisions, stale saves, block replacement and archiving."""

import re

import pytest

from apps.audit.models import AuditEvent
from apps.runbooks.models import Block, Runbook

RUNBOOK_KEYS = {
    "id", "uuid", "title", "description", "description_html", "tags", "environment", "parameters", "blocks",
    "revision", "published_version", "owner", "created_at", "updated_at",
}  # fmt: skip


def state(pk: int) -> tuple:
    """Everything a PATCH could change, to prove a refused one changed nothing."""
    runbook = Runbook.objects.get(pk=pk)
    return (
        Runbook.objects.filter(pk=pk).values().get(),
        sorted(runbook.tags.names()),
        list(runbook.blocks.values_list("key", "title", "kind", "config", "position")),
        Block.history.count(),
        AuditEvent.objects.count(),
    )


def url(cast) -> str:
    return f"/api/v1/runbooks/{cast.runbook.pk}/"


def test_it_answers_one_runbook_in_the_documented_shape(cast, api_for):
    body = api_for(cast.runner).get(url(cast)).json()
    assert set(body) == RUNBOOK_KEYS
    assert body["revision"] == cast.runbook.revision
    assert body["environment"] is None


def test_an_editor_changes_the_title(cast, api_for):
    response = api_for(cast.editor).patch(url(cast), {"title": "Restart payments", "revision": 1}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == RUNBOOK_KEYS
    assert response.json()["title"] == "Restart payments"
    assert response.json()["revision"] == 2
    assert Runbook.objects.get(pk=cast.runbook.pk).title == "Restart payments"


def test_the_revision_increments_on_every_change(cast, api_for):
    api = api_for(cast.owner)
    changes = [
        {"title": "Renamed"},
        {"description": "New *words*."},
        {"tags": ["db"]},
        {"parameters": [{"name": "REGION", "label": "Region", "choices": ["eu", "us"], "default": "eu"}]},
        {"blocks": [{"key": "wait", "kind": "timer", "config": {"seconds": 10}}]},
    ]
    revision = 1
    for change in changes:
        response = api.patch(url(cast), {**change, "revision": revision}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["revision"] == revision + 1
        revision += 1
    assert Runbook.objects.get(pk=cast.runbook.pk).revision == 6


def test_a_patch_that_changes_nothing_keeps_the_revision(cast, api_for):
    response = api_for(cast.owner).patch(url(cast), {"title": cast.runbook.title, "revision": 1}, format="json")
    assert response.status_code == 200
    assert response.json()["revision"] == 1


def test_blocks_replace_the_ordered_list(cast, api_for):
    blocks = [
        {"key": "restart", "title": "Restart", "kind": "command", "config": {"script": "echo again"}},
        {"key": "verify", "kind": "instruction", "config": {"markdown": "Check p95.", "gate": "confirm"}},
    ]
    body = api_for(cast.editor).patch(url(cast), {"blocks": blocks, "revision": 1}, format="json").json()
    assert [(block["key"], block["title"]) for block in body["blocks"]] == [("restart", "Restart"), ("verify", "")]
    assert list(cast.runbook.blocks.values_list("key", "position")) == [("restart", 0), ("verify", 1)]
    assert not cast.runbook.blocks.filter(key="intro").exists()
    assert cast.runbook.blocks.get(key="restart").config["script"] == "echo again"


def test_fields_not_sent_are_kept(cast, api_for):
    body = api_for(cast.editor).patch(url(cast), {"tags": ["urgent"], "revision": 1}, format="json").json()
    assert body["title"] == "Restart the payments API"
    assert [block["key"] for block in body["blocks"]] == ["intro", "restart"]
    assert body["tags"] == ["urgent"]


def test_it_refuses_stale_revision(cast, api_for):
    api = api_for(cast.editor)
    assert api.patch(url(cast), {"title": "First", "revision": 1}, format="json").status_code == 200
    owner_api = api_for(cast.owner)  # its token is audited: make it before taking the snapshot
    before = state(cast.runbook.pk)
    response = owner_api.patch(url(cast), {"title": "Second", "blocks": [], "tags": [], "revision": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["revision"] == 2
    assert response.json()["changed_by"] == "editor"
    assert "editor" in response.json()["detail"]
    assert state(cast.runbook.pk) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "No revision"}, "revision"),
        ({"title": "Text revision", "revision": "one"}, "revision"),
        ({"title": "Boolean revision", "revision": True}, "revision"),
        ({"title": "Null revision", "revision": None}, "revision"),
    ],
    ids=["missing", "text", "boolean", "null"],
)
def test_a_patch_needs_a_whole_number_revision(cast, api_for, body, field):
    api = api_for(cast.owner)
    before = state(cast.runbook.pk)
    response = api.patch(url(cast), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert state(cast.runbook.pk) == before


def test_an_owner_archives_with_delete(cast, api_for):
    api = api_for(cast.owner)
    response = api.delete(url(cast))
    assert response.status_code == 204
    assert response.content == b""
    runbook = Runbook.objects.get(pk=cast.runbook.pk)
    assert runbook.archived_at is not None
    assert Block.objects.filter(runbook=runbook).count() == 2  # archived, never hard-deleted
    assert api.get(url(cast)).status_code == 404
    assert api.patch(url(cast), {"title": "Ghost", "revision": runbook.revision}, format="json").status_code == 404


@pytest.mark.parametrize(
    "description",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<iframe src="https://evil.example"></iframe>',
        '![x](javascript:alert(1) "t")',
    ],
    ids=["script", "onerror", "javascript-link", "iframe", "javascript-image"],
)
def test_description_html_is_harmless(cast, api_for, description):
    body = api_for(cast.owner).patch(url(cast), {"description": description, "revision": 1}, format="json").json()
    html = body["description_html"].lower()
    assert body["description"] == description
    assert "<script" not in html
    assert "<iframe" not in html
    assert re.search(r"<[^>]*\son\w+\s*=", html) is None  # no event handler inside any tag
    assert re.search(r"(href|src)\s*=\s*[\"']?\s*javascript:", html) is None
