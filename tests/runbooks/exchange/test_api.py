"""The file routes of the API: export, import (create), import over a draft (dry run, 409, 413)."""

import pytest

from apps.runbooks.exchange.services import runbook_export
from apps.runbooks.models import Runbook
from apps.runbooks.versions import runbook_publish
from tests.runbooks.exchange.conftest import counts

pytestmark = pytest.mark.django_db


def test_a_viewer_exports_the_draft_and_a_version_as_markdown(world, api_for):
    cast = world.cast
    runbook_publish(runbook=cast.runbook, user=cast.owner, message="v1")
    api = api_for(cast.viewer)
    response = api.get(f"/api/v1/runbooks/{cast.runbook.pk}/export", HTTP_ACCEPT="text/markdown")
    assert response.status_code == 200 and response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.content.decode() == runbook_export(runbook=cast.runbook)
    assert f"id: {cast.runbook.uuid}" in response.content.decode()
    assert api.get(f"/api/v1/runbooks/{cast.runbook.pk}/export?version=1").status_code == 200
    assert api.get(f"/api/v1/runbooks/{cast.runbook.pk}/export?version=7").status_code == 404
    assert api_for(cast.outsider).get(f"/api/v1/runbooks/{cast.runbook.pk}/export").status_code == 404


def test_posting_a_file_creates_a_new_runbook_with_a_new_uuid(world, api_for):
    cast = world.cast
    text = runbook_export(runbook=cast.runbook)
    response = api_for(cast.editor).post("/api/v1/runbooks/import", text.encode(), content_type="text/markdown")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["uuid"] != str(cast.runbook.uuid) and body["owner"] == "editor"
    assert [block["key"] for block in body["blocks"]] == ["intro", "restart"]
    assert response["Location"] == f"/api/v1/runbooks/{body['id']}/"


def test_a_refused_file_answers_its_problems_with_lines(world, api_for):
    api = api_for(world.cast.editor)
    before = counts()
    response = api.post(
        "/api/v1/runbooks/import", b'```runbooks-nope {"name": "x"}\n```\n', content_type="text/markdown"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [{"line": 1, "message": response.json()["errors"][0]["message"]}]}
    assert "Unknown block kind" in response.json()["errors"][0]["message"]
    assert counts() == before


def test_a_file_over_the_limit_answers_413(world, api_for, settings):
    settings.RUNBOOKS_MAX_IMPORT_BYTES = 100
    api = api_for(world.cast.editor)
    before = counts()
    response = api.post("/api/v1/runbooks/import", b"# x\n" + b"y" * 200, content_type="text/markdown")
    assert response.status_code == 413 and "limit" in response.json()["errors"][0]["message"]
    assert counts() == before


def test_put_with_dry_run_answers_the_diff_and_saves_nothing_then_put_saves(world, api_for):
    cast = world.cast
    api = api_for(cast.editor)
    url = f"/api/v1/runbooks/{cast.runbook.pk}/import"
    text = runbook_export(runbook=cast.runbook).replace("echo restarting", "echo changed").encode()
    before = counts()
    dry = api.put(f"{url}?revision={cast.runbook.revision}&dry_run=1", text, content_type="text/markdown")
    assert dry.status_code == 200, dry.content
    diff = dry.json()["diff"]
    assert diff["empty"] is False and [block["key"] for block in diff["blocks"]] == ["restart"]
    assert counts() == before
    saved = api.put(f"{url}?revision={cast.runbook.revision}", text, content_type="text/markdown")
    assert saved.status_code == 200 and saved.json()["revision"] == cast.runbook.revision + 1
    stale = api.put(f"{url}?revision={cast.runbook.revision}", text, content_type="text/markdown")
    assert stale.status_code == 409
    assert api_for(cast.viewer).put(f"{url}?revision=1", text, content_type="text/markdown").status_code == 403
    assert Runbook.objects.get(pk=cast.runbook.pk).revision == cast.runbook.revision + 1
