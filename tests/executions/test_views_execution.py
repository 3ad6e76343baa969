"""The execution page: who ran which version, steps with badges, exit codes, output panes, polling that stops."""

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.executions.models import Execution, ExecutionStatus, OutputChunk, StepStatus
from apps.executions.services.start import execution_start
from tests.support.executions import command


@pytest.fixture
def runbook(cast, make_runbook):
    return make_runbook(
        cast.owner,
        [
            {"key": "look", "kind": "instruction", "config": {"markdown": "Check **the dashboard**."}},
            command("restart", "echo hi"),
        ],
    )


@pytest.fixture
def execution(cast, runbook):
    return execution_start(runbook=runbook, user=cast.runner)


def url(execution) -> str:
    return f"/executions/{execution.pk}/"


def finish(execution, status=ExecutionStatus.FAILED):
    now = timezone.now()
    Execution.objects.filter(pk=execution.pk).update(status=status, started_at=now, finished_at=now)
    execution.refresh_from_db()


def test_the_page_says_who_ran_which_version_and_how_it_went(cast, client_for, execution):
    look, restart = execution.steps.order_by("position")
    now = timezone.now()
    restart.status, restart.exit_code, restart.started_at, restart.finished_at = "failed", 3, now, now
    restart.error = "The command exited with 3."
    restart.save()
    look.status = "succeeded"
    look.save()
    html = client_for(cast.viewer).get(url(execution)).content.decode()
    assert f"Run #{execution.pk}" in html and "Execution test" in html
    assert ">v1</a>" in html and "runner" in html and "whole runbook" in html
    assert "status-queued" in html
    assert "exit 3" in html and "The command exited with 3." in html
    assert "<strong>the dashboard</strong>" in html, "instruction steps show their rendered Markdown"
    assert html.index(f'id="step-{look.pk}"') < html.index(f'id="step-{restart.pk}"')


def test_output_is_shown_escaped_with_colours(cast, client_for, execution):
    step = execution.steps.get(block_key="restart")
    step.started_at = timezone.now()
    step.save()
    OutputChunk.objects.create(step_run=step, seq=0, data="\x1b[32mok\x1b[0m <b>not bold</b>\n")
    OutputChunk.objects.create(step_run=step, seq=1, data="second chunk\n")
    html = client_for(cast.viewer).get(url(execution)).content.decode()
    assert '<span class="ansi-green">ok</span> &lt;b&gt;not bold&lt;/b&gt;\nsecond chunk' in html
    assert "<b>not bold</b>" not in html


def test_truncated_output_is_marked(cast, client_for, execution):
    step = execution.steps.get(block_key="restart")
    step.started_at, step.output_truncated, step.output_bytes = timezone.now(), True, 2 * 1024 * 1024
    step.save()
    OutputChunk.objects.create(step_run=step, seq=0, data="x" * 100)
    assert "Output truncated" in client_for(cast.viewer).get(url(execution)).content.decode()


def test_the_region_is_not_polled_but_the_fallback_can_refresh_it(cast, client_for, execution):
    partial = client_for(cast.viewer).get(
        url(execution), HTTP_HX_REQUEST="true", HTTP_HX_TARGET=f"execution-{execution.pk}"
    )
    html = partial.content.decode()
    # One update path: the socket. The page script polls data-refresh-url only while it cannot connect.
    assert "hx-trigger" not in html and "hx-get" not in html
    assert f'data-refresh-url="/executions/{execution.pk}/"' in html
    assert "<!doctype" not in html, "the fallback gets the partial, not the page"
    assert html.lstrip().startswith("<title>Queued · Run #"), "the tab title follows the state"


def test_runners_cancel_a_queued_run_at_once(cast, client_for, execution):
    client = client_for(cast.runner)
    assert "Cancel run…" in client.get(url(execution)).content.decode()
    confirm = client.get(f"/executions/{execution.pk}/cancel")
    assert confirm.status_code == 200 and "Cancel the run" in confirm.content.decode()
    execution.refresh_from_db()
    assert execution.status == "queued", "the confirmation page changes nothing"
    answer = client.post(f"/executions/{execution.pk}/cancel")
    assert answer.status_code == 302
    execution.refresh_from_db()
    assert (execution.status, execution.cancelled_by) == ("cancelled", cast.runner)
    assert set(execution.steps.values_list("status", flat=True)) == {StepStatus.CANCELLED}
    assert AuditEvent.objects.filter(action="execution.cancel", object_id=str(execution.pk)).exists()


def test_cancel_over_htmx_answers_the_final_partial(cast, client_for, execution):
    answer = client_for(cast.runner).post(f"/executions/{execution.pk}/cancel", HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "status-cancelled" in html and "hx-trigger" not in html


def test_cancelling_a_finished_run_says_so(cast, client_for, execution):
    finish(execution, ExecutionStatus.SUCCEEDED)
    answer = client_for(cast.runner).post(f"/executions/{execution.pk}/cancel", follow=True)
    assert "already finished" in answer.content.decode()
    execution.refresh_from_db()
    assert execution.status == "succeeded"


def test_viewers_get_no_cancel_button_and_403_on_cancel(cast, client_for, execution):
    client = client_for(cast.viewer)
    assert "Cancel run…" not in client.get(url(execution)).content.decode()
    assert client.post(f"/executions/{execution.pk}/cancel").status_code == 403
    execution.refresh_from_db()
    assert execution.status == "queued"


def test_a_draft_run_says_draft(cast, client_for, runbook):
    execution = execution_start(runbook=runbook, user=cast.editor, version="draft")
    html = client_for(cast.editor).get(url(execution)).content.decode()
    assert "<dt>Version</dt><dd>draft</dd>" in html


def test_an_unknown_execution_is_404(cast, client_for):
    assert client_for(cast.admin).get("/executions/999999/").status_code == 404
