"""Issue 13: an instruction without a gate, an api_call (request and response) and a conditional (its value,
the branch taken, the blocks it skipped) on the live page, for the starter (page opened before the run
starts) and a second runner (opened mid-run): the page stays whole and offers no button it should not."""

import pytest

from tests.executions.live.conftest import assert_page_whole, open_run, start_run
from tests.executions.live.test_gate_buttons import wait_for_buttons
from tests.test_demo_flow_browser import StatusServer

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def status_server():
    server = StatusServer()
    yield server
    server.close()


def test_an_api_call_and_a_conditional_jump_show_live_with_the_skipped_block_marked(stack, open_page, status_server):
    keys = ["warmup", "hold", "note", "call", "decide", "skipped", "last"]
    data = stack.setup(
        [
            {"key": "warmup", "kind": "command", "config": {"script": "echo warming"}},
            # Mid-run for as long as the checks take, however loaded the machine: a timer the starter skips.
            {"key": "hold", "kind": "timer", "config": {"seconds": 600}},
            {
                "key": "note",
                "kind": "instruction",
                "config": {"markdown": "Heads up: the pool is busy.", "gate": "none"},
            },
            {"key": "call", "kind": "api_call", "config": {"method": "GET", "url": status_server.url}},
            {"key": "decide", "kind": "conditional", "config": {"expression": "1 + 1 == 2", "on_true": "goto:last"}},
            {"key": "skipped", "kind": "command", "config": {"script": "echo should not run"}},
            {"key": "last", "kind": "command", "config": {"script": "echo the end"}},
        ]
    )
    starter = open_page(data["users"]["starter"])
    second = open_page(data["users"]["second"])
    execution_id = start_run(starter, data["runbook"])
    open_run(second, execution_id)
    for page in (starter, second):
        page.wait_for_function("() => /warming/.test(document.querySelector(\"pre[id^='output-']\").textContent)")
        wait_for_buttons(page, execution_id, ["Cancel run…", "Skip the wait"])
        assert_page_whole(page, execution_id, keys, {"warmup": "warming"})
    starter.locator(f"#execution-{execution_id}").get_by_role("button", name="Skip the wait").click()
    for page in (starter, second):
        page.locator("#execution-status[data-final='1']").wait_for()
        assert "Succeeded" in page.inner_text("#execution-status")
        steps = page.locator(f"#steps-{execution_id}")
        assert "Heads up: the pool is busy." in steps.inner_text()
        assert "Shown to the operator; no gate." in steps.inner_text()
        assert f"GET {status_server.url}" in page.inner_text(".api-request summary")
        assert "Response 200" in page.inner_text(".api-response summary")
        assert '"status": "healthy"' in page.inner_text(".api-response pre.json")
        assert "Value true → jump to last" in " ".join(page.inner_text(".condition").split())
        skipped = page.locator(f"#steps-{execution_id} > li.step", has=page.locator("code.muted:text-is('skipped')"))
        assert skipped.locator(".status-skipped").count() == 1, "the jumped-over block is marked skipped"
        assert "should not run" not in page.inner_text(f"#steps-{execution_id}")
        wait_for_buttons(page, execution_id, [])
        assert_page_whole(page, execution_id, keys, {"warmup": "warming", "last": "the end"})
