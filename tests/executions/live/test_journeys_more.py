"""Issue 13: more of a run's life on the live page. A step that times out, watched from before the run
starts; and the same journeys (a command, a confirm gate) with every page opened MID-RUN, after the
first step has already written output, so what came before arrives by replay and the rest live. After
every transition the header, every step and all output so far are on the page, and exactly the right
buttons are visible. The first step of a mid-run journey is held (tests.support.holds) until both pages
have shown the mid-run state, so that state is still the run's, however loaded the machine; opening a
page races the replay against the live frames, so each journey is walked several times."""

import re

import pytest

from tests.executions.live.conftest import assert_page_whole, open_run, start_run, wait_for_output
from tests.executions.live.test_gate_buttons import wait_for_buttons
from tests.support.holds import hold, release

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.django_db(transaction=True)]

TRIES = 3
# A timeout is a wall clock nobody can hold: the stuck step's is long enough for what happens while it
# runs (page reads only; both people sign in before the run starts), and short enough to wait for.
STUCK_TIMEOUT_SECONDS = 30


def wait_for_final(page, label: str) -> None:
    page.locator("#execution-status[data-final='1']").wait_for(timeout=40000)
    status = page.inner_text("#execution-status")
    assert label in status, status


def watchers(open_page, users: dict) -> tuple:
    """(launcher, starter, second): the starter's page that starts runs, a second tab of the
    starter's, and a second runner's page."""
    launcher = open_page(users["starter"])
    return launcher, launcher.context.new_page(), open_page(users["second"])


def start_and_open_mid_run(launcher, pages, runbook, first_line: str, check=None) -> int:
    """Start a run and open it on `pages` once its first line is stored (so it arrives by replay);
    check(page), if given, runs on each page as soon as it shows that line."""
    execution_id = start_run(launcher, runbook)
    wait_for_output(launcher, first_line)
    for page in pages:
        open_run(page, execution_id)
        wait_for_output(page, first_line)
        if check is not None:
            check(page)
    return execution_id


def assert_not_final(page) -> None:
    assert page.locator("#execution-status[data-final='1']").count() == 0, "opened mid-run, not after"


def assert_before_the_gate(page) -> None:
    assert_not_final(page)
    assert page.locator(".gate-prompt").count() == 0, "opened while the first step runs, before the gate"


def test_a_step_that_times_out_while_watched_stays_whole_and_offers_retry(stack, open_page):
    data = stack.setup(
        [
            {"key": "first", "kind": "command", "config": {"script": "echo warmed up"}},
            {
                "key": "stuck",
                "kind": "command",
                "config": {
                    "script": "echo waiting for the lock; sleep 60; echo never printed",
                    "timeout_seconds": STUCK_TIMEOUT_SECONDS,
                },
            },
            {"key": "after", "kind": "command", "config": {"script": "echo after"}},
        ]
    )
    keys = ["first", "stuck", "after"]
    so_far = {"first": "warmed up", "stuck": "waiting for the lock"}
    starter = open_page(data["users"]["starter"])
    second = open_page(data["users"]["second"])  # signed in now: opening the run is all it does mid-run
    execution_id = start_run(starter, data["runbook"])  # opened before the run starts
    wait_for_output(starter, "waiting for the lock")
    # The starter's own buttons while the step runs, before anyone else is watching.
    wait_for_buttons(starter, execution_id, ["Cancel run…"])
    assert_page_whole(starter, execution_id, keys, so_far)
    assert "Running" in starter.inner_text("#execution-status")

    open_run(second, execution_id)
    wait_for_output(second, "waiting for the lock")
    wait_for_buttons(second, execution_id, ["Cancel run…"])
    assert_page_whole(second, execution_id, keys, so_far)

    for page in (starter, second):
        wait_for_final(page, "Timed out")
        assert_page_whole(page, execution_id, keys, so_far)
        steps = page.inner_text(f"#steps-{execution_id}")
        assert "never printed" not in steps
        assert page.locator(f"#steps-{execution_id} .status-timed_out").count() == 1
        assert page.locator(f"#steps-{execution_id} .status-skipped").count() == 1  # "after" never ran
        wait_for_buttons(page, execution_id, ["Retry from here"])

    # Retry from the step that timed out: a new run, carrying "first"'s result.
    second.once("dialog", lambda dialog: dialog.accept())
    second.locator(f"#execution-{execution_id}").get_by_role("button", name="Retry from here").click()
    second.wait_for_url(lambda url: re.search(r"/executions/(\d+)/$", url) and f"/{execution_id}/" not in url)
    retry_id = int(re.search(r"/executions/(\d+)/", second.url).group(1))
    wait_for_output(second, "waiting for the lock")
    wait_for_buttons(second, retry_id, ["Cancel run…"])
    assert_page_whole(second, retry_id, keys, {"stuck": "waiting for the lock"})
    assert f"run #{execution_id}" in second.inner_text(f"#execution-{retry_id} dl.meta")


def test_a_command_opened_mid_run_by_the_starter_and_a_second_runner_stays_whole(stack, open_page):
    data = stack.setup(
        [
            {"key": "drain", "kind": "command", "config": {"script": f"echo draining node-1; {hold()}; echo drained"}},
            {"key": "report", "kind": "command", "config": {"script": "echo all nodes drained"}},
        ]
    )
    keys = ["drain", "report"]
    launcher, starter, second = watchers(open_page, data["users"])
    for _ in range(TRIES):
        # Both open the page now: the first line is already stored, the rest is still to come.
        execution_id = start_and_open_mid_run(
            launcher, (starter, second), data["runbook"], "draining node-1", check=assert_not_final
        )
        for page in (starter, second):
            wait_for_buttons(page, execution_id, ["Cancel run…"])
            assert_page_whole(page, execution_id, keys, {"drain": "draining node-1"})
        # Both saw the mid-run state while the step was held: now the rest arrives live.
        release(stack, execution_id=execution_id, block_key="drain")
        for page in (starter, second):
            wait_for_final(page, "Succeeded")
            assert_page_whole(
                page, execution_id, keys, {"drain": "draining node-1\ndrained", "report": "all nodes drained"}
            )
            assert page.locator(f"#steps-{execution_id} .status-succeeded").count() == 2
            wait_for_buttons(page, execution_id, [])


def test_a_confirm_gate_opened_mid_run_shows_its_buttons_and_continues(stack, open_page):
    data = stack.setup(
        [
            {"key": "prep", "kind": "command", "config": {"script": f"echo preparing; {hold()}; echo prepared"}},
            {"key": "gate", "kind": "instruction", "config": {"markdown": "Fail over the primary?", "gate": "confirm"}},
            {"key": "after", "kind": "command", "config": {"script": "echo failed over"}},
        ]
    )
    keys = ["prep", "gate", "after"]
    launcher, starter, second = watchers(open_page, data["users"])
    for attempt in range(TRIES):
        execution_id = start_and_open_mid_run(
            launcher, (starter, second), data["runbook"], "preparing", check=assert_before_the_gate
        )
        for page in (starter, second):
            wait_for_buttons(page, execution_id, ["Cancel run…"])
            assert_page_whole(page, execution_id, keys, {"prep": "preparing"})
        # The gate's prompt and buttons then arrive live on both pages.
        release(stack, execution_id=execution_id, block_key="prep")
        for page in (starter, second):
            page.locator(".gate-prompt").wait_for(timeout=20000)
            wait_for_buttons(page, execution_id, ["Cancel run…", "Continue", "Reject"])
            assert_page_whole(page, execution_id, keys, {"prep": "preparing\nprepared"})
            assert "Waiting" in page.inner_text("#execution-status")
        decider = second if attempt % 2 == 0 else starter
        decider.locator(f"#execution-{execution_id}").get_by_role("button", name="Continue", exact=True).click()
        name = data["users"]["second" if decider is second else "starter"]
        for page in (starter, second):
            wait_for_final(page, "Succeeded")
            decision = page.locator(".gate-decision").inner_text()
            assert re.match(rf"✔ \w+ by {re.escape(name)} at ", decision), decision
            assert_page_whole(page, execution_id, keys, {"prep": "preparing\nprepared", "after": "failed over"})
            wait_for_buttons(page, execution_id, [])
