import pytest
from django.contrib.auth.models import Group

from apps.audit.models import AuditEvent
from apps.core.errors import InvalidInput, StaleRevision, TooLarge
from apps.runbooks.models import Block, Runbook
from apps.runbooks.selectors import runbook_access_entries, runbook_role_of
from apps.runbooks.services.access import runbook_grant, runbook_set_access
from apps.runbooks.services.blocks import block_create, block_delete, block_move, block_update, blocks_reorder
from apps.runbooks.services.runbooks import runbook_archive, runbook_create, runbook_update


def content(runbook: Runbook) -> tuple:
    runbook.refresh_from_db()
    blocks = [(b.key, b.title, b.kind, b.config, b.position) for b in runbook.blocks.all()]
    return (
        runbook.title,
        runbook.description,
        sorted(runbook.tags.names()),
        runbook.parameters,
        runbook.revision,
        blocks,
    )


def test_the_creator_is_owner_and_the_creation_is_audited(cast):
    assert runbook_role_of(cast.owner, cast.runbook) == "owner"
    assert AuditEvent.objects.filter(action="runbook.create", object_id=str(cast.runbook.pk)).exists()


def test_tags_are_normalised_and_deduplicated(cast):
    runbook = runbook_create(user=cast.owner, title="T", tags=[" DB ", "db", "network", ""])
    assert sorted(runbook.tags.names()) == ["db", "network"]


def test_revision_increments_on_every_change(cast):
    runbook = cast.runbook
    start = runbook.revision
    runbook = runbook_update(runbook=runbook, user=cast.editor, revision=start, title="New title")
    assert runbook.revision == start + 1
    block = runbook.blocks.get(key="restart")
    block_update(block=block, user=cast.editor, revision=start + 1, key="restart", title="", config={"script": "ls"})
    assert content(runbook)[4] == start + 2


def test_an_unchanged_save_does_not_bump_the_revision(cast):
    runbook = cast.runbook
    same = runbook_update(runbook=runbook, user=cast.editor, revision=runbook.revision, title=runbook.title)
    assert same.revision == runbook.revision


def test_it_refuses_stale_revision_and_keeps_the_newer_content(cast):
    runbook = cast.runbook
    opened = runbook.revision
    runbook_update(runbook=runbook, user=cast.editor, revision=opened, title="Editor's title")
    before = content(runbook)
    with pytest.raises(StaleRevision) as caught:
        runbook_update(runbook=runbook, user=cast.owner, revision=opened, title="Owner's title")
    assert caught.value.changed_by == "editor"
    assert "changed by editor" in str(caught.value)
    assert content(runbook) == before


def test_two_editors_of_one_block_the_second_gets_the_conflict(cast):
    runbook = cast.runbook
    opened = runbook.revision
    block = runbook.blocks.get(key="restart")
    block_update(block=block, user=cast.editor, revision=opened, key="restart", title="", config={"script": "first"})
    with pytest.raises(StaleRevision):
        block_update(
            block=Block.objects.get(pk=block.pk), user=cast.owner, revision=opened, key="restart", title="",
            config={"script": "second"},
        )  # fmt: skip
    assert Block.objects.get(pk=block.pk).config["script"] == "first"


def test_a_bad_block_in_a_replacement_list_changes_nothing(cast):
    before = content(cast.runbook)
    with pytest.raises(InvalidInput) as caught:
        runbook_update(
            runbook=cast.runbook,
            user=cast.editor,
            revision=cast.runbook.revision,
            title="Changed too",
            blocks=[
                {"key": "ok", "kind": "timer", "config": {"seconds": 5}},
                {"key": "bad", "kind": "api_call", "config": {"url": "gopher://x"}},
            ],
        )
    assert caught.value.errors["blocks"][0] == {}
    assert "url" in caught.value.errors["blocks"][1]["config"]
    assert content(cast.runbook) == before


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ([{"key": "a", "kind": "nope", "config": {}}], "Unknown block kind"),
        ([{"key": "Not a slug!", "kind": "timer", "config": {"seconds": 1}}], "not a valid key"),
        (
            [
                {"key": "a", "kind": "timer", "config": {"seconds": 1}},
                {"key": "a", "kind": "timer", "config": {"seconds": 2}},
            ],
            "used by another block",
        ),
        (
            [
                {"key": "a", "kind": "timer", "config": {"seconds": 1}},
                {"key": "c", "kind": "conditional", "config": {"expression": "true", "on_true": "goto:a"}},
            ],
            "goto may only jump forward",
        ),
        (
            [{"key": "c", "kind": "conditional", "config": {"expression": "1", "on_false": "goto:ghost"}}],
            "no block with the key",
        ),
    ],
)
def test_bad_blocks_get_a_clear_message(cast, blocks, message):
    with pytest.raises(InvalidInput) as caught:
        runbook_update(runbook=cast.runbook, user=cast.editor, revision=cast.runbook.revision, blocks=blocks)
    assert message in str(caught.value.errors)


def test_size_limits_are_too_large_errors(cast, settings):
    with pytest.raises(TooLarge):
        runbook_create(user=cast.owner, title="Big", description="x" * (256 * 1024 + 1))
    with pytest.raises(TooLarge):
        runbook_create(
            user=cast.owner, title="Big", blocks=[{"key": "s", "kind": "command", "config": {"script": "#" * 70000}}]
        )
    many = [{"key": f"t{i}", "kind": "timer", "config": {"seconds": 1}} for i in range(201)]
    with pytest.raises(TooLarge):
        runbook_create(user=cast.owner, title="Many", blocks=many)
    assert not Runbook.objects.filter(title__in=["Big", "Many"]).exists()


def test_block_keys_are_generated_per_kind(cast):
    runbook = cast.runbook
    first = block_create(
        runbook=runbook, user=cast.editor, revision=runbook.revision, kind="timer", config={"seconds": 3}
    )
    second = block_create(
        runbook=runbook, user=cast.editor, revision=runbook.revision, kind="timer", config={"seconds": 4}
    )
    assert (first.key, second.key) == ("timer-1", "timer-2")
    assert [b.key for b in runbook.blocks.all()] == ["intro", "restart", "timer-1", "timer-2"]


def test_reorder_and_move_and_delete(cast):
    runbook = cast.runbook
    block_create(
        runbook=runbook, user=cast.editor, revision=runbook.revision, kind="timer", key="wait", config={"seconds": 3}
    )
    blocks_reorder(runbook=runbook, user=cast.editor, revision=runbook.revision, keys=["wait", "intro", "restart"])
    assert [b.key for b in runbook.blocks.all()] == ["wait", "intro", "restart"]
    block_move(block=runbook.blocks.get(key="restart"), user=cast.editor, revision=runbook.revision, offset=-1)
    assert [b.key for b in runbook.blocks.all()] == ["wait", "restart", "intro"]
    block_delete(block=runbook.blocks.get(key="wait"), user=cast.editor, revision=runbook.revision)
    assert list(runbook.blocks.values_list("key", "position")) == [("restart", 0), ("intro", 1)]


def test_a_reorder_must_name_every_block_once(cast):
    with pytest.raises(InvalidInput):
        blocks_reorder(runbook=cast.runbook, user=cast.editor, revision=cast.runbook.revision, keys=["intro"])


def test_a_move_that_would_break_a_forward_goto_is_refused(cast):
    runbook = runbook_create(
        user=cast.owner,
        title="Branches",
        blocks=[
            {"key": "check", "kind": "conditional", "config": {"expression": "true", "on_true": "goto:cleanup"}},
            {"key": "cleanup", "kind": "timer", "config": {"seconds": 1}},
        ],
    )
    with pytest.raises(InvalidInput):
        blocks_reorder(runbook=runbook, user=cast.owner, revision=runbook.revision, keys=["cleanup", "check"])
    assert [b.key for b in runbook.blocks.all()] == ["check", "cleanup"]


def test_grants_to_groups_give_their_members_the_role(cast):
    group = Group.objects.create(name="dba")
    cast.outsider.groups.add(group)
    runbook_grant(runbook=cast.runbook, actor=cast.owner, principal=group, role="runner")
    assert runbook_role_of(cast.outsider, cast.runbook) == "runner"
    assert {"principal": "group:dba", "role": "runner"} in runbook_access_entries(cast.runbook)
    assert AuditEvent.objects.filter(action="role.grant", detail__principal="group:dba").exists()


def test_the_last_owner_cannot_be_revoked(cast):
    with pytest.raises(InvalidInput):
        runbook_grant(runbook=cast.runbook, actor=cast.owner, principal=cast.owner, role="editor")
    assert runbook_role_of(cast.owner, cast.runbook) == "owner"


def test_set_access_replaces_every_grant_and_can_hand_over_ownership(cast):
    entries = runbook_set_access(
        runbook=cast.runbook,
        actor=cast.owner,
        entries=[{"principal": "user:editor", "role": "owner"}, {"principal": "group:sre", "role": "viewer"}],
    )
    assert entries == [{"principal": "group:sre", "role": "viewer"}, {"principal": "user:editor", "role": "owner"}]
    assert runbook_role_of(cast.owner, cast.runbook) is None


@pytest.mark.parametrize(
    "entries",
    [
        [{"principal": "user:nobody", "role": "owner"}],
        [{"principal": "owner", "role": "owner"}],
        [{"principal": "user:owner", "role": "admin"}],
        [{"principal": "user:viewer", "role": "viewer"}],
        "user:owner",
    ],
)
def test_set_access_rejects_bad_entries_and_changes_nothing(cast, entries):
    before = runbook_access_entries(cast.runbook)
    with pytest.raises(InvalidInput):
        runbook_set_access(runbook=cast.runbook, actor=cast.owner, entries=entries)
    assert runbook_access_entries(cast.runbook) == before


def test_archive_hides_the_runbook_and_is_audited(cast):
    runbook_archive(runbook=cast.runbook, user=cast.owner)
    assert not Runbook.objects.active().filter(pk=cast.runbook.pk).exists()
    assert AuditEvent.objects.filter(action="runbook.archive").count() == 1


def test_history_records_the_acting_user(cast):
    runbook_update(runbook=cast.runbook, user=cast.editor, revision=cast.runbook.revision, title="Edited")
    latest = cast.runbook.history.first()
    assert latest.history_user == cast.editor
    assert latest.title == "Edited"
