"""Issue 13, point 4: the run page's socket stays up through a long silence. A gate that waits 60 s
with the page open gives one WebSocket connect and no error in the web log (it used to drop every
~5 s with `redis.exceptions.TimeoutError: Timeout reading from …` and reconnect, over and over)."""

import re

import pytest

from tests.executions.live.conftest import assert_page_whole, start_run, visible_buttons

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.django_db(transaction=True)]

SILENCE_MS = 60_000


def test_a_gate_waiting_a_minute_keeps_one_socket_and_logs_no_error(stack, open_page):
    data = stack.setup(
        [
            {
                "key": "gate",
                "kind": "instruction",
                "config": {"markdown": "Wait for the change window.", "gate": "confirm"},
            },
            {"key": "after", "kind": "command", "config": {"script": "echo went on"}},
        ]
    )
    page = open_page(data["users"]["starter"])
    execution_id = start_run(page, data["runbook"])
    page.locator(".gate-prompt").wait_for()
    page.wait_for_function("() => window.__wsOpens >= 1")
    # The silence itself is what is tested: nothing happens on the run for a minute.
    page.wait_for_timeout(SILENCE_MS)

    log = (stack.tmp_path / "daphne.log").read_text()
    connects = re.findall(rf'"WSCONNECT /ws/executions/{execution_id}/', log)
    assert len(connects) == 1, f"{len(connects)} connects in the web log:\n{log[-3000:]}"
    assert page.evaluate("window.__wsOpens") == 1
    for bad in ("Traceback", "TimeoutError", "ERROR", "WSDISCONNECT"):
        assert bad not in log, f"{bad!r} in the web log:\n{log[-3000:]}"
    assert page.is_hidden("#live-banner")
    assert sorted(visible_buttons(page, execution_id)) == ["Cancel run…", "Continue", "Reject"]

    # The same socket still carries the rest of the run.
    page.evaluate("window.__samePage = true")
    page.locator(f"#execution-{execution_id}").get_by_role("button", name="Continue", exact=True).click()
    page.locator("#execution-status[data-final='1']").wait_for()
    assert "Succeeded" in page.inner_text("#execution-status")
    assert_page_whole(page, execution_id, ["gate", "after"], {"after": "went on"})
    assert page.evaluate("window.__samePage") is True
