"""Acceptance in real Chromium: run one command block, then the whole runbook, and find the outputs and exit
codes in history pinned to the version that ran. The engine runs in-process, as the worker would."""

import pytest
from django.utils import timezone

from apps.executions.jobs import run_execution
from apps.executions.models import Execution
from apps.executions.queue import executions_queue
from apps.executions.services.start import execution_start
from apps.runbooks.services.runbooks import runbook_update
from apps.runbooks.versions import runbook_publish
from tests.support.browser import sign_in
from tests.support.executions import command

pytestmark = pytest.mark.browser


def run_latest_in_process(page) -> Execution:
    """Run the execution the click just queued, with no page polling meanwhile (one DB, two threads)."""
    execution = Execution.objects.latest("pk")
    page.goto("about:blank")
    # The live server's request committed, so the job really is in Redis; take it out and run it here.
    executions_queue().remove(f"execution-{execution.pk}")
    run_execution(execution.pk)
    execution.refresh_from_db()
    page.goto(f"/executions/{execution.pk}/")
    return execution


def test_a_runner_runs_a_block_then_the_runbook_and_finds_both_in_history(
    transactional_db, cast, make_runbook, docker_engine, page
):
    runbook = make_runbook(
        cast.owner,
        [
            {"key": "look", "kind": "instruction", "config": {"markdown": "Look at **the graph**."}},
            command("hello", "echo hello-from-v1; printf '\\033[31mred\\033[0m\\n'"),
            command("check", "echo checking >&2; exit 3", continue_on_error=True),
        ],
        title="Browser acceptance",
    )
    sign_in(page, "runner")

    page.goto(f"/runbooks/{runbook.pk}/")
    page.get_by_role("button", name="Run block hello").click()
    page.wait_for_url("**/executions/*/")
    single = run_latest_in_process(page)
    assert (single.status, single.mode, single.block_key) == ("succeeded", "block", "hello")
    pane = page.locator(f"#execution-{single.pk}")
    pane.locator(".status-succeeded").first.wait_for()
    assert "hello-from-v1" in pane.locator("pre.output").inner_text()
    assert pane.locator("pre.output .ansi-red").inner_text() == "red"
    assert "exit 0" in pane.inner_text()
    assert pane.get_attribute("hx-trigger") is None, "a final execution is not polled"
    assert page.title().startswith("Succeeded")

    page.goto(f"/runbooks/{runbook.pk}/")
    page.get_by_role("button", name="▶ Run runbook").click()
    page.wait_for_url("**/executions/*/")
    full = run_latest_in_process(page)
    assert full.mode == "full" and full.pk != single.pk
    pane = page.locator(f"#execution-{full.pk}")
    steps = pane.locator("li.step")
    assert steps.count() == 3
    assert "the graph" in steps.nth(0).inner_text()
    assert "hello-from-v1" in steps.nth(1).inner_text()
    assert "exit 3" in steps.nth(2).inner_text() and "checking" in steps.nth(2).inner_text()

    # A new version changes nothing about what history says ran.
    runbook.refresh_from_db()
    runbook_update(
        runbook=runbook, user=cast.owner, revision=runbook.revision, blocks=[command("hello", "echo hello-from-v2")]
    )
    runbook_publish(runbook=runbook, user=cast.owner, message="v2")
    page.goto(f"/runbooks/{runbook.pk}/")
    page.locator("nav.tabs").get_by_role("link", name="Runs", exact=True).click()
    rows = page.locator("#execution-list tbody tr")
    assert rows.count() == 2
    for index in range(2):
        assert "v1" in rows.nth(index).inner_text()
    rows.nth(1).get_by_role("link").click()
    page.wait_for_url(f"**/executions/{single.pk}/")
    assert "hello-from-v1" in page.locator("pre.output").inner_text()
    assert "v1" in page.locator("dl.meta").inner_text()


def test_without_a_socket_the_execution_page_follows_the_run_and_stops_polling_when_final(
    transactional_db, cast, make_runbook, page
):
    runbook = make_runbook(cast.owner, [command("hello", "echo hi")], title="Polling")
    execution = execution_start(runbook=runbook, user=cast.runner)
    executions_queue().remove(f"execution-{execution.pk}")
    sign_in(page, "viewer")
    page.goto(f"/executions/{execution.pk}/")
    pane = page.locator(f"#execution-{execution.pk}")
    assert pane.get_attribute("hx-trigger") is None, "the region is never polled while a socket could connect"
    assert page.title().startswith("Queued")
    # The live server speaks no WebSocket: the page says so and falls back to refreshing the region.
    page.wait_for_selector("#live-banner:not([hidden])")
    assert page.inner_text("#live-banner") == "Live updates unavailable, refreshing every 2 s"
    now = timezone.now()
    Execution.objects.filter(pk=execution.pk).update(status="succeeded", started_at=now, finished_at=now)
    pane.locator(".status-succeeded").first.wait_for(timeout=5000)
    page.wait_for_function("() => document.title.startsWith('Succeeded')", timeout=5000)
    assert page.is_hidden("#live-banner"), "polling ends with the run"
