"""Publishing, rolling back and diffing at service level (issue 3, Deliver 1, 3, 5 and Acceptance)."""

import pytest
from django.http import Http404

from apps.audit.models import AuditEvent
from apps.core.errors import InvalidInput, StaleRevision
from apps.environments.models import ExecutionEnvironment
from apps.runbooks.diffing import snapshot_diff
from apps.runbooks.models import Block, Runbook, RunbookVersion
from apps.runbooks.services.blocks import block_update
from apps.runbooks.services.runbooks import runbook_create, runbook_update
from apps.runbooks.versions import (
    draft_status,
    runbook_latest_version,
    runbook_publish,
    runbook_rollback,
    snapshot_hash,
    snapshot_of,
)


def fresh(runbook: Runbook) -> Runbook:
    return Runbook.objects.get(pk=runbook.pk)


def test_publish_snapshots_the_draft_in_the_api_shape(cast):
    version = runbook_publish(runbook=cast.runbook, user=cast.editor, message="First review")
    assert version.number == 1
    assert version.author == cast.editor
    assert version.message == "First review"
    assert version.snapshot == {
        "title": "Restart the payments API",
        "description": "When **p95 latency** alarms fire.",
        "tags": ["api", "payments"],
        "environment": None,
        "parameters": [],
        "blocks": [
            {
                "key": "intro",
                "title": "",
                "kind": "instruction",
                "config": Block.objects.get(key="intro").config,
            },
            {"key": "restart", "title": "", "kind": "command", "config": Block.objects.get(key="restart").config},
        ],
    }
    assert version.content_hash == snapshot_hash(version.snapshot)
    assert len(version.content_hash) == 64


def test_it_refuses_an_empty_message_and_saves_nothing(cast):
    for message in ("", "   ", None):
        with pytest.raises(InvalidInput) as error:
            runbook_publish(runbook=cast.runbook, user=cast.editor, message=message)
        assert "message" in error.value.errors
    assert not RunbookVersion.objects.exists()
    assert not AuditEvent.objects.filter(action="runbook.publish").exists()


def test_it_refuses_to_publish_an_unchanged_draft(cast):
    runbook_publish(runbook=cast.runbook, user=cast.editor, message="v1")
    with pytest.raises(InvalidInput) as error:
        runbook_publish(runbook=cast.runbook, user=cast.editor, message="again")
    assert "Nothing changed since v1" in error.value.errors["message"][0]
    assert RunbookVersion.objects.count() == 1


def test_publish_with_a_stale_revision_is_refused(cast):
    revision = cast.runbook.revision
    runbook_update(runbook=cast.runbook, user=cast.owner, revision=revision, title="Changed meanwhile")
    with pytest.raises(StaleRevision) as error:
        runbook_publish(runbook=cast.runbook, user=cast.editor, message="v1", revision=revision)
    assert error.value.changed_by == "owner"
    assert not RunbookVersion.objects.exists()


def test_publish_is_audited(cast):
    version = runbook_publish(runbook=cast.runbook, user=cast.editor, message="v1")
    event = AuditEvent.objects.get(action="runbook.publish")
    assert event.actor == cast.editor
    assert (event.object_type, event.object_id) == ("runbook", str(cast.runbook.pk))
    assert event.detail["version"] == 1
    assert event.detail["content_hash"] == version.content_hash


def test_create_publish_edit_publish_rollback_gives_v3_equal_to_v1(cast):
    runbook = runbook_create(
        user=cast.editor,
        title="Fail over the database",
        description="Line one\nLine two",
        tags=["db"],
        blocks=[
            {"key": "check", "kind": "instruction", "config": {"markdown": "Check replication lag."}},
            {"key": "promote", "kind": "command", "config": {"script": "echo promote\necho done"}},
        ],
    )
    v1 = runbook_publish(runbook=runbook, user=cast.editor, message="Initial")
    runbook = fresh(runbook)
    runbook_update(
        runbook=runbook,
        user=cast.editor,
        revision=runbook.revision,
        title="Fail over the primary database",
        blocks=[
            {"key": "check", "kind": "instruction", "config": {"markdown": "Check replication lag."}},
            {"key": "promote", "kind": "command", "config": {"script": "echo promote\necho verified"}},
            {"key": "notify", "kind": "instruction", "config": {"markdown": "Tell #incidents."}},
        ],
    )
    v2 = runbook_publish(runbook=fresh(runbook), user=cast.editor, message="Verify and notify")

    v3 = runbook_rollback(runbook=fresh(runbook), user=cast.editor, number=1, message="notify step is wrong")

    assert v3.number == 3
    assert v3.message == "Rollback to v1: notify step is wrong"
    assert v3.restored_from == 1
    assert v3.snapshot == v1.snapshot
    assert v3.content_hash == v1.content_hash
    assert snapshot_of(fresh(runbook)) == v1.snapshot
    assert fresh(runbook).revision == 3  # created 1, edited 2, reset 3
    assert RunbookVersion.objects.get(runbook=runbook, number=2).snapshot == v2.snapshot
    assert AuditEvent.objects.filter(action="runbook.rollback", object_id=str(runbook.pk)).count() == 1

    diff = snapshot_diff(v1.snapshot, v2.snapshot)
    assert [change.name for change in diff.fields] == ["title"]
    assert {(block.key, block.status) for block in diff.changed_blocks} == {("promote", "changed"), ("notify", "added")}
    promote = next(block for block in diff.blocks if block.key == "promote")
    assert [change.name for change in promote.changes] == ["config.script"]
    changed_rows = [row for row in promote.changes[0].rows if row.tag != "equal"]
    assert [(row.old_text, row.new_text) for row in changed_rows] == [("echo done", "echo verified")]


def test_rollback_to_a_missing_version_is_404_and_changes_nothing(cast):
    runbook_publish(runbook=cast.runbook, user=cast.editor, message="v1")
    revision = fresh(cast.runbook).revision
    with pytest.raises(Http404):
        runbook_rollback(runbook=cast.runbook, user=cast.editor, number=7, message="why")
    assert RunbookVersion.objects.count() == 1
    assert fresh(cast.runbook).revision == revision


def test_rollback_needs_a_reason(cast):
    runbook_publish(runbook=cast.runbook, user=cast.editor, message="v1")
    with pytest.raises(InvalidInput) as error:
        runbook_rollback(runbook=cast.runbook, user=cast.editor, number=1, message=" ")
    assert "message" in error.value.errors
    assert RunbookVersion.objects.count() == 1


def test_rollback_to_the_current_unchanged_version_is_refused(cast):
    runbook_publish(runbook=cast.runbook, user=cast.editor, message="v1")
    with pytest.raises(InvalidInput) as error:
        runbook_rollback(runbook=cast.runbook, user=cast.editor, number=1, message="no-op")
    assert "already the current version" in error.value.errors["message"][0]
    assert RunbookVersion.objects.count() == 1


def test_draft_status_follows_edits_and_publishes(cast):
    assert draft_status(cast.runbook).changed is True
    assert draft_status(cast.runbook).latest_number is None
    runbook_publish(runbook=cast.runbook, user=cast.editor, message="v1")
    assert draft_status(fresh(cast.runbook)).changed is False
    runbook = fresh(cast.runbook)
    runbook_update(runbook=runbook, user=cast.editor, revision=runbook.revision, tags=["api", "payments", "p1"])
    status = draft_status(fresh(cast.runbook))
    assert (status.changed, status.latest_number) == (True, 1)
    assert runbook_latest_version(cast.runbook).number == 1


def test_tag_order_does_not_change_the_content_hash(cast):
    runbook = fresh(cast.runbook)
    before = snapshot_hash(snapshot_of(runbook))
    runbook.tags.set(["payments", "api"])
    assert snapshot_hash(snapshot_of(runbook)) == before


def test_two_editors_saving_the_same_revision_second_is_refused_naming_the_first(cast):
    block = Block.objects.get(runbook=cast.runbook, key="restart")
    opened_revision = fresh(cast.runbook).revision
    # Both sessions opened the block at the same revision.
    first_session = Block.objects.get(pk=block.pk)
    second_session = Block.objects.get(pk=block.pk)
    block_update(
        block=first_session, user=cast.editor, revision=opened_revision, key="restart", title="",
        config={"script": "systemctl restart payments"},
    )  # fmt: skip
    with pytest.raises(StaleRevision) as error:
        block_update(
            block=second_session, user=cast.owner, revision=opened_revision, key="restart", title="",
            config={"script": "kill -9 1"},
        )  # fmt: skip
    assert error.value.changed_by == "editor"
    assert error.value.changed_at is not None
    assert "editor" in str(error.value)
    assert Block.objects.get(pk=block.pk).config["script"] == "systemctl restart payments"


def test_rollback_to_a_version_whose_environment_was_deleted_is_refused_cleanly(cast):
    old_env = ExecutionEnvironment.objects.create(name="old", image="alpine:3.19")
    new_env = ExecutionEnvironment.objects.create(name="new", image="alpine:3.20")
    runbook = fresh(cast.runbook)
    runbook_update(runbook=runbook, user=cast.editor, revision=runbook.revision, environment=old_env.pk)
    runbook_publish(runbook=fresh(runbook), user=cast.editor, message="on old")
    runbook = fresh(runbook)
    runbook_update(runbook=runbook, user=cast.editor, revision=runbook.revision, environment=new_env.pk)
    runbook_publish(runbook=fresh(runbook), user=cast.editor, message="on new")
    old_env.delete()
    revision = fresh(runbook).revision

    with pytest.raises(InvalidInput) as error:
        runbook_rollback(runbook=fresh(runbook), user=cast.editor, number=1, message="back to old")
    assert "environment" in error.value.errors
    assert RunbookVersion.objects.filter(runbook=runbook).count() == 2
    assert fresh(runbook).revision == revision and fresh(runbook).environment_id == new_env.pk
