"""Issue 13: a run's life on the live page, watched by the starter (page opened before the run starts, so
frames arrive live) and by a second runner (page opened mid-run, another browser context). After every
transition the header, every step and all output so far are still on the page, and the right buttons,
and only those, are visible and work."""

import re

import pytest

from tests.executions.live.conftest import assert_page_whole, open_run, start_run, visible_buttons, wait_for_output
from tests.executions.live.test_gate_buttons import wait_for_buttons
from tests.support.holds import hold, release

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.django_db(transaction=True)]

SECONDS = r"(\d+(?:\.\d)?) s"


def seconds_shown(page, selector: str) -> float:
    match = re.fullmatch(SECONDS, page.inner_text(selector).strip())
    return float(match.group(1)) if match else -1.0


def test_durations_tick_while_a_command_runs(stack, open_page):
    # Held until the page has ticked to 3 s, then 4 s more: at least 7 s in all, however loaded the machine.
    script = f"echo started; {hold()}; sleep 4; echo done"
    data = stack.setup([{"key": "slow", "kind": "command", "config": {"script": script}}])
    page = open_page(data["users"]["starter"])
    execution_id = start_run(page, data["runbook"])
    step = page.locator("[id^='step-state-'][data-status='running']")
    step.wait_for()
    step_id = step.get_attribute("id").removeprefix("step-state-")
    page.wait_for_function("() => /started/.test(document.querySelector(\"pre[id^='output-']\").textContent)")
    # 3 s into the held command, both durations say about 3 s (they used to stay at "0.2 s").
    page.wait_for_function(
        """id => {
            const secs = el => parseFloat((el && el.textContent.match(/^([\\d.]+) s$/) || [0, -1])[1]);
            return secs(document.getElementById('step-duration-' + id)) >= 3
                && secs(document.getElementById('execution-duration')) >= 3;
        }""",
        arg=step_id,
        timeout=15000,
    )
    assert page.get_attribute(f"#step-state-{step_id}", "data-status") == "running", "ticked while still running"
    release(stack, execution_id=execution_id, block_key="slow")
    page.locator("#execution-status[data-final='1']").wait_for()
    final = seconds_shown(page, f"#step-duration-{step_id}")
    assert 7 <= final < 30, final
    assert_page_whole(page, execution_id, ["slow"], {"slow": "done"})


def test_a_run_that_fails_while_watched_stays_whole_and_retries_from_the_failed_step(stack, open_page):
    data = stack.setup(
        [
            {"key": "first", "kind": "command", "config": {"script": "echo one"}},
            {"key": "boom", "kind": "command", "config": {"script": f"echo about to fail; {hold()}; exit 3"}},
            {"key": "never", "kind": "command", "config": {"script": "echo never"}},
        ]
    )
    keys = ["first", "boom", "never"]
    starter = open_page(data["users"]["starter"])
    second = open_page(data["users"]["second"])
    execution_id = start_run(starter, data["runbook"])
    open_run(second, execution_id)
    for page in (starter, second):
        wait_for_output(page, "about to fail")
        wait_for_buttons(page, execution_id, ["Cancel run…"], timeout=20)
    release(stack, execution_id=execution_id, block_key="boom")  # both saw it run: now it fails
    for page in (starter, second):
        page.locator("#execution-status[data-final='1']").wait_for()
        assert "Failed" in page.inner_text("#execution-status")
        assert_page_whole(page, execution_id, keys, {"first": "one", "boom": "about to fail"})
        assert "exit 3" in page.inner_text(f"#steps-{execution_id}")
        assert page.locator(f"#steps-{execution_id} li.step-skipped, #steps-{execution_id} .status-skipped").count()
        wait_for_buttons(page, execution_id, ["Retry from here"])
    second.once("dialog", lambda dialog: dialog.accept())
    second.locator(f"#execution-{execution_id}").get_by_role("button", name="Retry from here").click()
    second.wait_for_url(lambda url: re.search(r"/executions/(\d+)/$", url) and f"/{execution_id}/" not in url)
    retry_id = int(re.search(r"/executions/(\d+)/", second.url).group(1))
    wait_for_output(second, "about to fail")  # the retried step runs (held) again
    release(stack, execution_id=retry_id, block_key="boom")
    second.locator("#execution-status[data-final='1']").wait_for()
    assert_page_whole(second, retry_id, keys, {"boom": "about to fail"})
    assert f"run #{execution_id}" in second.inner_text(f"#execution-{retry_id} dl.meta")


def test_a_timer_counts_down_for_both_and_a_second_runner_skips_it(stack, open_page):
    data = stack.setup(
        [
            {"key": "pause", "kind": "timer", "config": {"seconds": 90}},
            {"key": "after", "kind": "command", "config": {"script": "echo after the wait"}},
        ]
    )
    starter = open_page(data["users"]["starter"])
    second = open_page(data["users"]["second"])
    execution_id = start_run(starter, data["runbook"])
    open_run(second, execution_id)
    for page in (starter, second):
        left = page.locator(".countdown-left")
        left.wait_for()
        first = left.inner_text()
        assert re.fullmatch(r"1 min \d\d s", first), first
        page.wait_for_function(
            "first => document.querySelector('.countdown-left').textContent !== first", arg=first, timeout=5000
        )
        wait_for_buttons(page, execution_id, ["Cancel run…", "Skip the wait"])
        assert_page_whole(page, execution_id, ["pause", "after"])
    second.locator(f"#execution-{execution_id}").get_by_role("button", name="Skip the wait").click()
    name = data["users"]["second"]
    for page in (starter, second):
        page.locator("#execution-status[data-final='1']").wait_for()
        assert f"Skipped by {name}" in page.inner_text(".timer-skipped")
        assert "Succeeded" in page.inner_text("#execution-status")
        wait_for_buttons(page, execution_id, [])
        assert_page_whole(page, execution_id, ["pause", "after"], {"after": "after the wait"})


def test_a_second_runner_cancels_a_running_command_and_both_keep_its_output(stack, open_page):
    # Ticks until it is cancelled (or the environment's 120 s timeout): nothing here ends it but the test.
    script = 'i=0; while true; do i=$((i + 1)); echo "tick $i"; sleep 0.2; done'
    data = stack.setup(
        [
            {"key": "ticks", "kind": "command", "config": {"script": script}},
            {"key": "later", "kind": "command", "config": {"script": "echo later"}},
        ]
    )
    starter = open_page(data["users"]["starter"])
    second = open_page(data["users"]["second"])
    viewer = open_page(data["users"]["viewer"])
    execution_id = start_run(starter, data["runbook"])
    open_run(second, execution_id)
    open_run(viewer, execution_id)
    for page in (starter, second, viewer):
        page.wait_for_function("() => /tick 3\\n/.test(document.querySelector(\"pre[id^='output-']\").textContent)")
    for page in (starter, second):
        wait_for_buttons(page, execution_id, ["Cancel run…"])
    assert visible_buttons(viewer, execution_id) == [], "a viewer has no buttons"
    second.once("dialog", lambda dialog: dialog.accept())
    second.locator(f"#execution-{execution_id}").get_by_role("button", name="Cancel run…").click()
    for page in (starter, second, viewer):
        page.locator("#execution-status[data-final='1']").wait_for()
        assert "Cancelled" in page.inner_text("#execution-status")
        assert_page_whole(page, execution_id, ["ticks", "later"], {"ticks": "tick 3\n"})
    for page in (starter, second):
        # One "Retry from here" per cancelled step (the running one and those that never started).
        cancelled = page.locator(f"#steps-{execution_id} .status-cancelled").count()
        assert cancelled == 2
        wait_for_buttons(page, execution_id, ["Retry from here"] * cancelled)
    assert visible_buttons(viewer, execution_id) == []
