"""/api/v1/runbooks/{id}/versions/…: list, publish, get and rollback (DESIGN.md shapes)."""

import pytest

from apps.runbooks.models import Runbook, RunbookVersion
from apps.runbooks.services.runbooks import runbook_update
from apps.runbooks.versions import runbook_publish, snapshot_of


def url(runbook, suffix=""):
    return f"/api/v1/runbooks/{runbook.pk}/versions/{suffix}"


def fresh(runbook):
    return Runbook.objects.get(pk=runbook.pk)


def test_publish_answers_201_with_the_new_version_and_its_snapshot(cast, api_for):
    response = api_for(cast.editor).post(url(cast.runbook), {"message": "Reviewed"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["number"] == 1
    assert body["message"] == "Reviewed"
    assert body["author"] == "editor"
    assert body["snapshot"] == snapshot_of(cast.runbook)
    assert len(body["content_hash"]) == 64
    assert set(body) == {"number", "message", "author", "created_at", "content_hash", "restored_from", "snapshot"}


@pytest.mark.parametrize("payload", [{}, {"message": ""}, {"message": "   "}, {"message": 5}, ["message"]])
def test_publish_with_an_empty_or_bad_message_is_400_and_saves_nothing(cast, api_for, payload):
    response = api_for(cast.editor).post(url(cast.runbook), payload, format="json")
    assert response.status_code == 400
    assert "message" in response.json() or "non_field_errors" in response.json()
    assert not RunbookVersion.objects.exists()


def test_publish_of_an_unchanged_draft_is_400_naming_the_version(cast, api_for):
    api = api_for(cast.editor)
    api.post(url(cast.runbook), {"message": "v1"}, format="json")
    response = api.post(url(cast.runbook), {"message": "v2"}, format="json")
    assert response.status_code == 400
    assert "Nothing changed since v1" in response.json()["message"][0]


def test_publish_with_a_stale_revision_is_409(cast, api_for):
    stale = cast.runbook.revision
    runbook_update(runbook=cast.runbook, user=cast.owner, revision=stale, title="Moved on")
    response = api_for(cast.editor).post(url(cast.runbook), {"message": "v1", "revision": stale}, format="json")
    assert response.status_code == 409
    assert response.json()["changed_by"] == "owner"
    assert not RunbookVersion.objects.exists()


def test_the_list_is_paginated_newest_first_without_snapshots(cast, api_for):
    runbook_publish(runbook=cast.runbook, user=cast.editor, message="one")
    runbook = fresh(cast.runbook)
    runbook_update(runbook=runbook, user=cast.editor, revision=runbook.revision, title="Two")
    runbook_publish(runbook=fresh(runbook), user=cast.owner, message="two")
    response = api_for(cast.viewer).get(url(cast.runbook))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    assert [(item["number"], item["author"], item["message"]) for item in body["results"]] == [
        (2, "owner", "two"),
        (1, "editor", "one"),
    ]
    assert "snapshot" not in body["results"][0]


def test_get_a_version_with_its_snapshot(cast, api_for):
    version = runbook_publish(runbook=cast.runbook, user=cast.editor, message="one")
    response = api_for(cast.viewer).get(url(cast.runbook, "1/"))
    assert response.status_code == 200
    assert response.json()["snapshot"] == version.snapshot
    assert response.json()["content_hash"] == version.content_hash
    assert api_for(cast.viewer).get(url(cast.runbook, "2/")).status_code == 404


def test_rollback_answers_201_and_resets_the_draft(cast, api_for):
    v1 = runbook_publish(runbook=cast.runbook, user=cast.editor, message="one")
    runbook = fresh(cast.runbook)
    runbook_update(runbook=runbook, user=cast.editor, revision=runbook.revision, title="Two", tags=["x"])
    runbook_publish(runbook=fresh(runbook), user=cast.editor, message="two")
    response = api_for(cast.editor).post(url(cast.runbook, "1/rollback/"), {"message": "bad tag"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["number"], body["message"], body["restored_from"]) == (3, "Rollback to v1: bad tag", 1)
    assert body["snapshot"] == v1.snapshot
    assert snapshot_of(fresh(cast.runbook)) == v1.snapshot


def test_rollback_to_a_version_that_does_not_exist_is_404(cast, api_for):
    runbook_publish(runbook=cast.runbook, user=cast.editor, message="one")
    response = api_for(cast.editor).post(url(cast.runbook, "9/rollback/"), {"message": "why"}, format="json")
    assert response.status_code == 404
    assert RunbookVersion.objects.count() == 1


def test_rollback_without_a_reason_is_400(cast, api_for):
    runbook_publish(runbook=cast.runbook, user=cast.editor, message="one")
    response = api_for(cast.editor).post(url(cast.runbook, "1/rollback/"), {}, format="json")
    assert response.status_code == 400
    assert "message" in response.json()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_no_api_route_changes_a_published_version(cast, api_for, method):
    version = runbook_publish(runbook=cast.runbook, user=cast.editor, message="one")
    api = api_for(cast.admin)
    for target in (url(cast.runbook, "1/"), url(cast.runbook), url(cast.runbook, "1/rollback/")):
        response = getattr(api, method)(target, {"message": "hacked", "snapshot": {"title": "x"}}, format="json")
        assert response.status_code == 405
    version.refresh_from_db()
    assert (version.message, version.snapshot["title"]) == ("one", "Restart the payments API")
    assert RunbookVersion.objects.count() == 1


def test_acceptance_flow_over_the_api(cast, api_for):
    """Create → publish v1 → edit → publish v2 → roll back to v1: v3 == v1, draft == v1, v2 kept."""
    api = api_for(cast.editor)
    created = api.post(
        "/api/v1/runbooks/",
        {
            "title": "Rotate the TLS certificate",
            "tags": ["tls"],
            "blocks": [{"key": "renew", "kind": "command", "config": {"script": "certbot renew"}}],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    runbook_id = created.json()["id"]
    base = f"/api/v1/runbooks/{runbook_id}/versions/"
    assert api.post(base, {"message": "first"}, format="json").status_code == 201
    edited = api.patch(
        f"/api/v1/runbooks/{runbook_id}/",
        {
            "revision": created.json()["revision"],
            "blocks": [
                {"key": "renew", "kind": "command", "config": {"script": "certbot renew --force-renewal"}},
                {"key": "reload", "kind": "command", "config": {"script": "nginx -s reload"}},
            ],
        },
        format="json",
    )
    assert edited.status_code == 200, edited.json()
    assert api.post(base, {"message": "force and reload"}, format="json").status_code == 201
    rolled = api.post(f"{base}1/rollback/", {"message": "reload broke prod"}, format="json")
    assert rolled.status_code == 201

    v1, v2, v3 = (api.get(f"{base}{number}/").json() for number in (1, 2, 3))
    assert v3["snapshot"] == v1["snapshot"] and v3["content_hash"] == v1["content_hash"]
    assert v3["message"] == "Rollback to v1: reload broke prod"
    assert [block["key"] for block in v2["snapshot"]["blocks"]] == ["renew", "reload"]
    draft = api.get(f"/api/v1/runbooks/{runbook_id}/").json()
    assert [{key: block[key] for key in ("key", "title", "kind", "config")} for block in draft["blocks"]] == v1[
        "snapshot"
    ]["blocks"]
    assert draft["published_version"] == 3
