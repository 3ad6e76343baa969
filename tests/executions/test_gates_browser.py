"""In Chromium: a second runner approves a waiting gate from the page; a timer counts down live.

The live server here is WSGI only, so the page's socket cannot connect and the page falls back to
polling; the buttons and the countdown must work either way.
"""

import re

import pytest

from apps.executions.queue import executions_queue
from apps.executions.services.start import execution_start
from tests.support.browser import sign_in
from tests.support.executions import run_now


@pytest.fixture
def queue():
    queue = executions_queue()
    yield queue
    queue.empty()
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id, delete_job=True)


@pytest.mark.django_db(transaction=True)
def test_a_second_runner_approves_from_the_page_and_sees_who_decided(cast, make_runbook, page, queue):
    gate = {"key": "gate", "kind": "instruction", "config": {"markdown": "Scale down?", "gate": "approval"}}
    runbook = make_runbook(cast.owner, [gate])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    sign_in(page, "editor")
    page.goto(f"/executions/{execution.pk}/")
    prompt = page.locator(".gate-prompt")
    assert prompt.inner_text() == "Needs approval by a runner other than runner."
    page.get_by_role("button", name="Approve").click()
    decision = page.locator(".gate-decision")
    decision.wait_for()
    assert re.match(r"✔ Approved by editor at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", decision.inner_text())
    assert page.get_by_role("button", name="Approve").count() == 0
    step = execution.steps.get()
    assert (step.status, step.confirmed_by) == ("succeeded", cast.editor)


@pytest.mark.django_db(transaction=True)
def test_the_timer_counts_down_on_the_page_and_a_runner_skips_it(cast, make_runbook, page, queue):
    runbook = make_runbook(cast.owner, [{"key": "pause", "kind": "timer", "config": {"seconds": 90}}])
    execution = run_now(execution_start(runbook=runbook, user=cast.owner))
    sign_in(page, "runner")
    page.goto(f"/executions/{execution.pk}/")
    left = page.locator(".countdown-left")
    first = left.inner_text()
    assert re.fullmatch(r"1 min \d\d s", first), first
    page.wait_for_function(
        "first => document.querySelector('.countdown-left').textContent !== first", arg=first, timeout=5000
    )
    page.get_by_role("button", name="Skip the wait").click()
    page.locator(".timer-skipped").wait_for()
    assert "Skipped by runner" in page.locator(".timer-skipped").inner_text()
    assert execution.steps.get().result["skipped_by"] == "runner"
