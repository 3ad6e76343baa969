"""The foundation's acceptance flow in real Chromium: sign in, create a runbook with tags and
Markdown, add one block of each kind, reorder them, reload, and see all of it persisted and rendered."""

import pytest

from apps.runbooks.models import Runbook
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

BLOCKS = [
    ("instruction", "read-first", {"markdown": "Check the **error budget** first."}),
    ("command", "restart", {"script": "echo restarting payments"}),
    ("api_call", "health", {"url": "https://status.example.com/health"}),
    ("conditional", "is-healthy", {"expression": "steps.health.status == 'succeeded'"}),
    ("timer", "cool-down", {"seconds": "45"}),
]


def add_block(page, kind: str, key: str, fields: dict) -> None:
    page.click(f"form.add-block button[value={kind}]")
    form = page.locator("li[id^=block-new-] form").last
    form.locator("input[name$=-key]").fill(key)
    for name, value in fields.items():
        form.locator(f"[name$=-{name}]").fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(f"li[data-key={key}]")


def test_an_author_builds_a_runbook_of_every_block_kind_and_it_survives_a_reload(transactional_db, cast, page):
    sign_in(page, "editor")
    page.goto("/runbooks/new")
    page.fill("input[name=title]", "Fail over the primary database")
    page.fill("textarea[name=description]", "# When\n\nReplication lag over **30 s**.\n\n<script>alert(1)</script>")
    page.wait_for_selector("#description-preview strong")
    page.fill("input[name=tags]", "Database, failover")
    page.click("button:has-text('Create runbook')")
    page.wait_for_url("**/runbooks/*/")

    for kind, key, fields in BLOCKS:
        add_block(page, kind, key, fields)

    # Keyboard reorder: move the timer to the top, one step at a time.
    position = "[...document.querySelectorAll('#blocks > li')].findIndex(item => item.dataset.key === 'cool-down')"
    for index in range(len(BLOCKS) - 1, 0, -1):
        page.click("button[aria-label='Move cool-down up']")
        page.wait_for_function(f"() => {position} === {index - 1}")

    page.reload()
    keys = page.eval_on_selector_all("#blocks > li", "items => items.map(item => item.dataset.key)")
    assert keys == ["cool-down", "read-first", "restart", "health", "is-healthy"]
    body = page.inner_text("main")
    assert "Fail over the primary database" in body
    assert "Replication lag over" in body
    assert page.locator(".markdown strong", has_text="30 s").count() == 1
    assert page.locator("script", has_text="alert(1)").count() == 0
    assert "database" in body and "failover" in body
    assert "error budget" in body and "echo restarting payments" in body
    assert "https://status.example.com/health" in body and "steps.health.status" in body
    assert "45" in page.inner_text("li[data-key=cool-down]")

    runbook = Runbook.objects.get(title="Fail over the primary database")
    assert sorted(runbook.tags.names()) == ["database", "failover"]
    stored = [(block.key, block.kind) for block in runbook.blocks.all()]
    assert stored == [
        ("cool-down", "timer"), ("read-first", "instruction"), ("restart", "command"), ("health", "api_call"),
        ("is-healthy", "conditional"),
    ]  # fmt: skip
    assert runbook.blocks.get(key="cool-down").config == {"seconds": 45}
