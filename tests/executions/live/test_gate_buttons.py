"""Issue 13, point 1: a waiting gate's buttons appear, for the starter and for a second runner, with
the page opened before the run starts (frames arrive live), opened while the gate waits, and after a
reload. It was a race (a button loader swapped or cancelled by the page script), so each journey is
walked several times in a row; one pass would prove nothing.
"""

import re
import time

import pytest

from tests.executions.live.conftest import (
    assert_page_whole,
    open_run,
    shoot,
    start_run,
    visible_buttons,
    wait_for_output,
)
from tests.support.holds import hold, release

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.django_db(transaction=True)]

REPEATS = 5
KEYS = ["prep", "gate", "after"]


def blocks(gate: str) -> list[dict]:
    return [
        # Held until both pages are open, so the gate's state arrives on them as a live frame.
        {"key": "prep", "kind": "command", "config": {"script": f"echo preparing; {hold()}; echo prepared"}},
        {"key": "gate", "kind": "instruction", "config": {"markdown": "Scale the pool down?", "gate": gate}},
        {"key": "after", "kind": "command", "config": {"script": "echo finished"}},
    ]


def wait_for_buttons(page, execution_id: int, expected: list[str], timeout: float = 10) -> None:
    """The visible buttons of the run become exactly `expected` (any order) and stay so for 0.5 s."""
    deadline = time.monotonic() + timeout
    seen, since = None, None
    while time.monotonic() < deadline:
        now = sorted(visible_buttons(page, execution_id))
        if now != seen:
            seen, since = now, time.monotonic()
        elif now == sorted(expected) and time.monotonic() - since >= 0.5:
            return
        page.wait_for_timeout(50)
    shoot(page, f"buttons-{execution_id}")
    pytest.fail(f"run #{execution_id}: buttons {seen}, expected {sorted(expected)}")


def expected_at_gate(gate: str, *, starter: bool) -> list[str]:
    if gate == "confirm":
        return ["Cancel run…", "Continue", "Reject"]
    return ["Cancel run…", "Reject"] if starter else ["Cancel run…", "Approve", "Reject"]


@pytest.mark.parametrize("gate", ["confirm", "approval"])
def test_a_waiting_gates_buttons_show_for_the_starter_and_a_second_runner_every_time(stack, open_page, gate):
    data = stack.setup(blocks(gate))
    starter = open_page(data["users"]["starter"])
    second = open_page(data["users"]["second"])
    for attempt in range(REPEATS):
        execution_id = start_run(starter, data["runbook"])
        # Opened while the first step still runs: the gate's state arrives as a live frame.
        open_run(second, execution_id)
        for page in (starter, second):
            wait_for_output(page, "preparing")
            assert page.locator(".gate-prompt").count() == 0, "the page is open before the gate waits"
        release(stack, execution_id=execution_id, block_key="prep")
        for page in (starter, second):
            page.locator(".gate-prompt").wait_for()
            wait_for_buttons(page, execution_id, expected_at_gate(gate, starter=page is starter))
            assert_page_whole(page, execution_id, KEYS, {"prep": "prepared"})
        if gate == "approval":
            assert "you cannot approve it" in starter.inner_text(f"#execution-{execution_id} #steps-{execution_id}")
        # Opened while the gate waits, and reloaded: the same buttons.
        late = second.context.new_page()
        open_run(late, execution_id)
        starter.reload()
        for page in (late, starter):
            wait_for_buttons(page, execution_id, expected_at_gate(gate, starter=page is starter))
            assert_page_whole(page, execution_id, KEYS, {"prep": "prepared"})

        reject = attempt == REPEATS - 1
        decider = starter if (reject or (gate == "confirm" and attempt % 2)) else second
        label = "Reject" if reject else ("Continue" if gate == "confirm" else "Approve")
        if reject:
            decider.once("dialog", lambda dialog: dialog.accept())
        decider.locator(f"#execution-{execution_id}").get_by_role("button", name=label, exact=True).click()
        name = data["users"]["starter" if decider is starter else "second"]
        for page in (starter, second, late):
            page.locator("#execution-status[data-final='1']").wait_for()
            decision = page.locator(".gate-decision")
            assert re.match(rf"[✔✘] \w+ by {re.escape(name)} at ", decision.inner_text()), decision.inner_text()
            if reject:
                assert "Failed" in page.inner_text("#execution-status")
                wait_for_buttons(page, execution_id, ["Retry from here"])
                assert_page_whole(page, execution_id, KEYS, {"prep": "prepared"})
            else:
                assert "Succeeded" in page.inner_text("#execution-status")
                wait_for_buttons(page, execution_id, [])
                assert_page_whole(page, execution_id, KEYS, {"prep": "prepared", "after": "finished"})
        late.close()
