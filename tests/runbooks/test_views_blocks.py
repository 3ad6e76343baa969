import re

import pytest
from django.urls import reverse

from apps.runbooks.models import Block, Runbook

HTMX = {"HTTP_HX_REQUEST": "true"}


def _snapshot(runbook: Runbook) -> tuple:
    runbook = Runbook.objects.get(pk=runbook.pk)
    blocks = [(b.pk, b.key, b.title, b.kind, b.config, b.position) for b in runbook.blocks.all()]
    return (runbook.title, runbook.description, runbook.revision, blocks)


def _revision(runbook: Runbook) -> int:
    return Runbook.objects.get(pk=runbook.pk).revision


def _url(name: str, runbook: Runbook, block: Block | None = None) -> str:
    return reverse(f"runbooks:{name}", args=[runbook.pk] if block is None else [runbook.pk, block.pk])


def _new_form(client, runbook, kind: str) -> str:
    """Open an empty form like the "Add block" menu does; returns its field prefix."""
    answer = client.get(_url("block_new", runbook), {"kind": kind}, **HTMX)
    assert answer.status_code == 200
    return re.search(r'name="prefix" value="(new-[0-9a-f]{8})"', answer.content.decode()).group(1)


def _create(client, runbook, kind: str, fields: dict, *, key: str = "", revision=None):
    prefix = _new_form(client, runbook, kind)
    data = {"kind": kind, "prefix": prefix, f"{prefix}-key": key, f"{prefix}-title": "",
            "revision": _revision(runbook) if revision is None else revision}  # fmt: skip
    data.update({f"{prefix}-{name}": value for name, value in fields.items()})
    return client.post(_url("block_create", runbook), data, **HTMX)


def _edit_data(block: Block, revision: int, **fields) -> dict:
    prefix = f"block-{block.pk}"
    data = {f"{prefix}-key": block.key, f"{prefix}-title": block.title, "revision": revision}
    data.update({f"{prefix}-{name}": value for name, value in fields.items()})
    return data


@pytest.mark.parametrize("kind", ["instruction", "command", "api_call", "conditional", "timer"])
def test_the_add_menu_answers_an_empty_form_of_each_kind(cast, client_for, kind):
    answer = client_for(cast.editor).get(_url("block_new", cast.runbook), {"kind": kind}, **HTMX)
    assert answer.status_code == 200
    text = answer.content.decode()
    assert text.lstrip().startswith('<li id="block-new-')
    assert 'hx-include="#runbook-revision"' in text
    assert 'name="revision"' not in text  # the page's one #runbook-revision is sent instead
    assert 'value="[]"' not in text  # list defaults are shown as text the field parses back


def test_an_unknown_kind_is_a_clear_error(cast, client_for):
    answer = client_for(cast.editor).get(_url("block_new", cast.runbook), {"kind": "teleport"}, **HTMX)
    assert answer.status_code == 400
    assert "Unknown block kind “teleport”" in answer.content.decode()
    before = _snapshot(cast.runbook)
    posted = client_for(cast.editor).post(
        _url("block_create", cast.runbook), {"kind": "teleport", "prefix": "new-00000000", "revision": 1}, **HTMX
    )
    assert posted.status_code == 400
    assert _snapshot(cast.runbook) == before


def test_adding_a_block_swaps_in_its_view_and_the_new_revision(cast, client_for):
    runbook = cast.runbook
    answer = _create(client_for(cast.editor), runbook, "timer", {"seconds": "45"}, key="cool-down")
    assert answer.status_code == 200
    block = runbook.blocks.get(key="cool-down")
    assert (block.kind, block.config, block.position) == ("timer", {"seconds": 45}, 2)
    text = answer.content.decode()
    assert f'<li id="block-{block.pk}"' in text
    assert "Wait <strong>45</strong> seconds" in text
    assert f'id="runbook-revision" name="revision" value="{_revision(runbook)}" hx-swap-oob="true"' in text


def test_an_empty_key_gets_a_generated_one(cast, client_for):
    _create(client_for(cast.editor), cast.runbook, "command", {"script": "uptime", "shell": "sh",
            "timeout_seconds": "300", "credentials": ""})  # fmt: skip
    assert cast.runbook.blocks.filter(key="command-1").exists()


def test_a_config_that_breaks_its_schema_shows_errors_in_place_and_changes_nothing(cast, client_for):
    before = _snapshot(cast.runbook)
    answer = _create(
        client_for(cast.editor), cast.runbook, "api_call",
        {"method": "BREW", "url": "ftp://example.com", "expected_status": "200, 999", "timeout_seconds": "0",
         "headers": "no colon here"},
    )  # fmt: skip
    assert answer.status_code == 400
    text = answer.content.decode()
    assert text.lstrip().startswith('<li id="block-new-')  # swapped in place of the same form
    assert "Select a valid choice" in text
    assert "The URL must start with http:// or https://." in text
    assert "999 is not an HTTP status" in text
    assert "Line 1: write headers as “Name: value”." in text
    assert "Nothing was saved" in text
    assert 'value="ftp://example.com"' in text  # what the user typed stays
    assert _snapshot(cast.runbook) == before


def test_a_duplicate_key_is_refused_next_to_the_key(cast, client_for):
    before = _snapshot(cast.runbook)
    answer = _create(client_for(cast.editor), cast.runbook, "timer", {"seconds": "5"}, key="intro")
    assert answer.status_code == 400
    assert "The key “intro” is used by another block." in answer.content.decode()
    assert _snapshot(cast.runbook) == before


def test_a_non_slug_key_is_refused(cast, client_for):
    before = _snapshot(cast.runbook)
    answer = _create(client_for(cast.editor), cast.runbook, "timer", {"seconds": "5"}, key="not a slug!")
    assert answer.status_code == 400
    assert "“not a slug!” is not a valid key: use letters, digits, - and _ only." in answer.content.decode()
    assert _snapshot(cast.runbook) == before


def test_a_script_over_64_kib_is_refused_and_nothing_saved(cast, client_for):
    before = _snapshot(cast.runbook)
    answer = _create(client_for(cast.editor), cast.runbook, "command",
                     {"script": "x" * (64 * 1024 + 1), "shell": "sh", "timeout_seconds": "300"})  # fmt: skip
    assert answer.status_code == 413
    assert "the limit is 65,536 bytes" in answer.content.decode()
    assert _snapshot(cast.runbook) == before
    block = cast.runbook.blocks.get(key="restart")
    edited = client_for(cast.editor).post(
        _url("block_edit", cast.runbook, block),
        _edit_data(block, _revision(cast.runbook), script="y" * (64 * 1024 + 1), shell="sh", timeout_seconds="300"),
        **HTMX,
    )
    assert edited.status_code == 413
    assert _snapshot(cast.runbook) == before


def test_more_than_200_blocks_are_refused(cast, client_for):
    runbook = cast.runbook
    Block.objects.bulk_create(
        Block(runbook=runbook, key=f"step-{number}", kind="timer", config={"seconds": 1}, position=number + 2)
        for number in range(198)
    )
    before = _snapshot(runbook)
    answer = _create(client_for(cast.editor), runbook, "timer", {"seconds": "5"}, key="one-too-many")
    assert answer.status_code == 413
    assert "at most" in answer.content.decode() and "blocks" in answer.content.decode()
    assert _snapshot(runbook) == before


def test_the_edit_form_shows_current_values_and_saving_swaps_in_the_view(cast, client_for):
    runbook = cast.runbook
    block = runbook.blocks.get(key="restart")
    client = client_for(cast.editor)
    form = client.get(_url("block_edit", runbook, block), **HTMX)
    assert form.status_code == 200
    assert "echo restarting" in form.content.decode()
    assert f'name="block-{block.pk}-credentials" value=""' in form.content.decode() or (
        f'name="block-{block.pk}-credentials"' in form.content.decode() and 'value="[]"' not in form.content.decode()
    )
    answer = client.post(
        _url("block_edit", runbook, block),
        _edit_data(block, runbook.revision, script="systemctl restart payments", shell="bash",
                   timeout_seconds="120", credentials=""),
        **HTMX,
    )  # fmt: skip
    assert answer.status_code == 200
    block.refresh_from_db()
    assert block.config["script"] == "systemctl restart payments"
    assert (block.config["shell"], block.config["timeout_seconds"]) == ("bash", 120)
    assert "systemctl restart payments" in answer.content.decode()
    assert f'value="{_revision(runbook)}" hx-swap-oob="true"' in answer.content.decode()


def test_a_second_edit_on_the_same_page_uses_the_revision_sent_out_of_band(cast, client_for):
    runbook = cast.runbook
    client = client_for(cast.editor)
    block = runbook.blocks.get(key="intro")
    first = client.post(
        _url("block_edit", runbook, block), _edit_data(block, runbook.revision, markdown="One", gate="none"), **HTMX
    )
    revision = int(re.search(r'name="revision" value="(\d+)" hx-swap-oob', first.content.decode()).group(1))
    second = client.post(
        _url("block_edit", runbook, block), _edit_data(block, revision, markdown="Two", gate="none"), **HTMX
    )
    assert second.status_code == 200
    block.refresh_from_db()
    assert block.config["markdown"] == "Two"


def test_a_stale_block_save_names_the_first_user_and_keeps_their_content(cast, client_for):
    runbook = cast.runbook
    block = runbook.blocks.get(key="intro")
    opened_at = runbook.revision
    first, second = client_for(cast.editor), client_for(cast.owner)
    assert first.get(_url("block_edit", runbook, block), **HTMX).status_code == 200
    assert second.get(_url("block_edit", runbook, block), **HTMX).status_code == 200
    saved = first.post(
        _url("block_edit", runbook, block), _edit_data(block, opened_at, markdown="Editor's words", gate="none"), **HTMX
    )
    assert saved.status_code == 200
    after_first = _snapshot(runbook)
    stale = second.post(
        _url("block_edit", runbook, block),
        _edit_data(block, opened_at, markdown="Owner's words", gate="confirm"),
        **HTMX,
    )
    assert stale.status_code == 409
    text = stale.content.decode()
    assert "changed by editor" in text and "since you opened it" in text and "reload" in text
    assert "Owner&#x27;s words" in text  # the second user's input is kept in the form
    assert _snapshot(runbook) == after_first
    block.refresh_from_db()
    assert block.config["markdown"] == "Editor's words"


def test_a_backwards_goto_is_shown_next_to_its_field(cast, client_for):
    before = _snapshot(cast.runbook)
    answer = _create(client_for(cast.editor), cast.runbook, "conditional",
                     {"expression": "true", "on_true": "goto:intro", "on_false": "stop"})  # fmt: skip
    assert answer.status_code == 400
    assert "“intro” is not after this block; goto may only jump forward." in answer.content.decode()
    assert _snapshot(cast.runbook) == before


def test_an_invalid_expression_is_refused(cast, client_for):
    answer = _create(client_for(cast.editor), cast.runbook, "conditional",
                     {"expression": "params.(", "on_true": "continue", "on_false": "stop"})  # fmt: skip
    assert answer.status_code == 400
    assert "Expression syntax error" in answer.content.decode()


def test_cancelling_an_edit_shows_the_block_again(cast, client_for):
    block = cast.runbook.blocks.get(key="intro")
    answer = client_for(cast.editor).get(_url("block_detail", cast.runbook, block), **HTMX)
    assert answer.status_code == 200
    assert answer.content.decode().lstrip().startswith(f'<li id="block-{block.pk}"')


def test_without_javascript_the_block_forms_are_full_pages_that_carry_the_revision(cast, client_for):
    runbook = cast.runbook
    block = runbook.blocks.get(key="intro")
    client = client_for(cast.editor)
    page = client.get(_url("block_edit", runbook, block))
    assert b"<html" in page.content
    assert f'name="revision" value="{runbook.revision}"'.encode() in page.content
    answer = client.post(
        _url("block_edit", runbook, block), _edit_data(block, runbook.revision, markdown="Plain", gate="none")
    )
    assert answer.status_code == 302
    assert answer["Location"].endswith(f"#block-{block.pk}")
    new_page = client.get(_url("block_new", runbook), {"kind": "timer"})
    assert b"<html" in new_page.content and b'name="revision"' in new_page.content


def test_delete_with_htmx_removes_the_block(cast, client_for):
    runbook = cast.runbook
    block = runbook.blocks.get(key="intro")
    answer = client_for(cast.editor).post(_url("block_delete", runbook, block), {"revision": runbook.revision}, **HTMX)
    assert answer.status_code == 200
    assert not runbook.blocks.filter(key="intro").exists()
    assert list(runbook.blocks.values_list("key", "position")) == [("restart", 0)]
    assert answer.content.decode().strip().startswith('<input type="hidden" id="runbook-revision"')


def test_delete_without_javascript_asks_first(cast, client_for):
    runbook = cast.runbook
    block = runbook.blocks.get(key="intro")
    client = client_for(cast.editor)
    confirm = client.get(_url("block_delete", runbook, block))
    assert confirm.status_code == 200
    assert "Delete block “intro”?" in confirm.content.decode()
    assert runbook.blocks.filter(key="intro").exists()
    answer = client.post(_url("block_delete", runbook, block), {"revision": runbook.revision})
    assert answer.status_code == 302
    assert not runbook.blocks.filter(key="intro").exists()


def test_a_stale_delete_changes_nothing(cast, client_for):
    runbook = cast.runbook
    block = runbook.blocks.get(key="intro")
    before = _snapshot(runbook)
    answer = client_for(cast.editor).post(
        _url("block_delete", runbook, block), {"revision": runbook.revision - 1}, **HTMX
    )
    assert answer.status_code == 409
    assert answer["HX-Retarget"] == "#blocks-status"
    assert "changed by owner" in answer.content.decode()
    assert _snapshot(runbook) == before


def test_move_down_and_up(cast, client_for):
    runbook = cast.runbook
    client = client_for(cast.editor)
    intro = runbook.blocks.get(key="intro")
    answer = client.post(
        _url("block_move", runbook, intro), {"direction": "down", "revision": _revision(runbook)}, **HTMX
    )
    assert answer.status_code == 200
    assert list(runbook.blocks.order_by("position").values_list("key", flat=True)) == ["restart", "intro"]
    text = answer.content.decode()
    assert text.index('data-key="restart"') < text.index('data-key="intro"')
    assert 'hx-swap-oob="true"' in text
    # Without JavaScript the form's own revision copy is used and the page reloads.
    back = client.post(_url("block_move", runbook, intro), {"direction": "up", "fallback_revision": _revision(runbook)})
    assert back.status_code == 302
    assert list(runbook.blocks.order_by("position").values_list("key", flat=True)) == ["intro", "restart"]


def test_move_refuses_an_unknown_direction(cast, client_for):
    intro = cast.runbook.blocks.get(key="intro")
    before = _snapshot(cast.runbook)
    answer = client_for(cast.editor).post(
        _url("block_move", cast.runbook, intro), {"direction": "sideways", "revision": 1}
    )
    assert answer.status_code == 400
    assert _snapshot(cast.runbook) == before


def test_drag_and_drop_posts_the_new_order(cast, client_for):
    runbook = cast.runbook
    answer = client_for(cast.editor).post(
        _url("blocks_reorder", runbook), {"order": "restart,intro", "revision": runbook.revision}, **HTMX
    )
    assert answer.status_code == 200
    assert list(runbook.blocks.order_by("position").values_list("key", flat=True)) == ["restart", "intro"]
    assert f'value="{_revision(runbook)}" hx-swap-oob="true"' in answer.content.decode()


def test_a_reorder_that_does_not_name_every_block_is_refused(cast, client_for):
    before = _snapshot(cast.runbook)
    answer = client_for(cast.editor).post(
        _url("blocks_reorder", cast.runbook), {"order": "restart", "revision": cast.runbook.revision}, **HTMX
    )
    assert answer.status_code == 400
    assert "must name every block" in answer.content.decode()
    assert _snapshot(cast.runbook) == before


def test_a_stale_reorder_is_refused(cast, client_for):
    before = _snapshot(cast.runbook)
    answer = client_for(cast.editor).post(
        _url("blocks_reorder", cast.runbook), {"order": "restart,intro", "revision": cast.runbook.revision - 1}, **HTMX
    )
    assert answer.status_code == 409
    assert _snapshot(cast.runbook) == before


def test_an_instruction_form_previews_its_markdown(cast, client_for):
    block = cast.runbook.blocks.get(key="intro")
    text = client_for(cast.editor).get(_url("block_edit", cast.runbook, block), **HTMX).content.decode()
    assert f'hx-post="{reverse("runbooks:preview")}?field=block-{block.pk}-markdown"' in text
    assert f'id="block-{block.pk}-markdown-preview"' in text
    preview = client_for(cast.editor).post(
        reverse("runbooks:preview") + f"?field=block-{block.pk}-markdown", {f"block-{block.pk}-markdown": "*hi*"}
    )
    assert preview.content.strip() == b"<p><em>hi</em></p>"
