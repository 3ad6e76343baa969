"""django-simple-history records who changed a runbook or block, and what changed."""

from apps.runbooks.models import Block, Runbook
from apps.runbooks.services.blocks import block_update
from apps.runbooks.services.runbooks import runbook_update


def test_a_runbook_edit_records_the_acting_user_and_the_changed_field(cast):
    runbook = runbook_update(
        runbook=cast.runbook, user=cast.editor, revision=cast.runbook.revision, title="Restart payments safely"
    )
    latest, previous = Runbook.history.filter(id=runbook.pk).order_by("-history_id")[:2]
    assert latest.history_user == cast.editor
    assert latest.history_type == "~"
    delta = latest.diff_against(previous)
    assert "title" in delta.changed_fields
    change = next(change for change in delta.changes if change.field == "title")
    assert (change.old, change.new) == ("Restart the payments API", "Restart payments safely")


def test_the_runbook_creation_is_recorded_for_its_owner(cast):
    first = Runbook.history.filter(id=cast.runbook.pk).order_by("history_id").first()
    assert first.history_type == "+"
    assert first.history_user == cast.owner


def test_a_block_edit_records_the_acting_user_and_the_changed_config(cast):
    block = cast.runbook.blocks.get(key="restart")
    block_update(
        block=block,
        user=cast.editor,
        revision=cast.runbook.revision,
        key="restart",
        title="",
        config={"script": "systemctl restart payments"},
    )
    latest, previous = Block.history.filter(id=block.pk).order_by("-history_id")[:2]
    assert latest.history_user == cast.editor
    delta = latest.diff_against(previous)
    assert delta.changed_fields == ["config"]
    assert latest.config["script"] == "systemctl restart payments"
