from html.parser import HTMLParser

from django.urls import reverse

from apps.runbooks.services.blocks import block_create
from apps.runbooks.services.runbooks import runbook_update


def _elements(html: str) -> list[tuple[str, dict]]:
    """Every element the browser would build from `html`, as (tag, attributes)."""
    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, {name: value or "" for name, value in attrs}))

    Collector().feed(html)
    return found


def _detail(client, runbook):
    return client.get(reverse("runbooks:detail", args=[runbook.pk]))


def test_it_renders_the_runbook_and_each_block_by_kind(cast, client_for):
    runbook = cast.runbook
    block_create(runbook=runbook, user=cast.owner, revision=runbook.revision, kind="api_call", key="ping",
                 config={"method": "POST", "url": "https://status.example.com/ping"})  # fmt: skip
    block_create(runbook=runbook, user=cast.owner, revision=runbook.revision, kind="conditional", key="check",
                 config={"expression": "params.REGION == 'eu'", "on_true": "continue", "on_false": "fail"})  # fmt: skip
    block_create(runbook=runbook, user=cast.owner, revision=runbook.revision, kind="timer", key="wait",
                 config={"seconds": 90})  # fmt: skip
    runbook_update(runbook=runbook, user=cast.owner, revision=runbook.revision,
                   parameters=[{"name": "REGION", "label": "Region", "default": "eu"}])  # fmt: skip
    runbook.refresh_from_db()
    page = _detail(client_for(cast.viewer), runbook)
    assert page.status_code == 200
    text = page.content.decode()
    assert "<strong>p95 latency</strong>" in text  # description Markdown
    assert "Check the dashboard first." in text  # instruction Markdown
    assert '<pre class="script"><code>echo restarting</code></pre>' in text
    assert '<code class="method">POST</code> <code class="url">https://status.example.com/ping</code>' in text
    assert "params.REGION == &#x27;eu&#x27;" in text and "<strong>fail</strong>" in text
    assert "Wait <strong>90</strong> seconds" in text
    assert "<code>REGION</code>" in text
    assert f"<dd>{runbook.revision}" in text
    assert "<dd>owner</dd>" in text
    # Blocks in their order, each with its stable id.
    ids = [f'id="block-{block.pk}"' for block in runbook.blocks.all()]
    assert [text.index(block_id) for block_id in ids] == sorted(text.index(block_id) for block_id in ids)


def test_it_shows_the_tabs_and_the_draft_status(cast, client_for):
    text = _detail(client_for(cast.owner), cast.runbook).content.decode()
    for name in ("versions", "history", "share"):
        assert reverse(f"runbooks:{name}", args=[cast.runbook.pk]) in text
    assert 'id="draft-status"' in text


def test_viewers_see_no_edit_controls(cast, client_for):
    text = _detail(client_for(cast.viewer), cast.runbook).content.decode()
    assert reverse("runbooks:edit", args=[cast.runbook.pk]) not in text
    assert reverse("runbooks:block_new", args=[cast.runbook.pk]) not in text
    assert 'id="runbook-revision"' not in text
    assert "draggable" not in text
    assert reverse("runbooks:share", args=[cast.runbook.pk]) not in text


def test_editors_see_edit_controls_but_not_sharing(cast, client_for):
    text = _detail(client_for(cast.editor), cast.runbook).content.decode()
    assert reverse("runbooks:edit", args=[cast.runbook.pk]) in text
    assert reverse("runbooks:block_new", args=[cast.runbook.pk]) in text
    assert f'id="runbook-revision" name="revision" value="{cast.runbook.revision}"' in text
    assert 'hx-confirm="Delete block intro?"' in text
    assert reverse("runbooks:share", args=[cast.runbook.pk]) not in text
    assert reverse("runbooks:archive", args=[cast.runbook.pk]) not in text


def test_hostile_markdown_renders_harmless(cast, client_for):
    runbook = cast.runbook
    hostile = (
        "<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1))\n\n"
        '<iframe src="https://evil.example"></iframe>\n\n<a href="javascript:alert(2)">raw</a>'
    )
    runbook_update(runbook=runbook, user=cast.owner, revision=runbook.revision, description=hostile)
    runbook.refresh_from_db()
    block_create(runbook=runbook, user=cast.owner, revision=runbook.revision, kind="instruction", key="evil",
                 config={"markdown": hostile})  # fmt: skip
    page = _detail(client_for(cast.viewer), runbook).content.decode()
    elements = _elements(page)
    # The page's own scripts are static files; nothing from the Markdown becomes a live element.
    assert all(attrs.get("src", "").startswith("/static/") for tag, attrs in elements if tag == "script")
    assert not [tag for tag, _ in elements if tag in ("iframe", "object", "embed")]
    assert not [(tag, name) for tag, attrs in elements for name in attrs if name.startswith("on")]
    assert not [attrs for tag, attrs in elements if (attrs.get("href") or "").strip().lower().startswith("javascript")]
    assert "&lt;script&gt;alert" in page  # shown as text instead


def test_outsiders_get_404_and_anonymous_visitors_sign_in(cast, client_for):
    assert _detail(client_for(cast.outsider), cast.runbook).status_code == 404
    assert _detail(client_for(None), cast.runbook).status_code == 302
    assert client_for(cast.owner).get(reverse("runbooks:detail", args=[999999])).status_code == 404
