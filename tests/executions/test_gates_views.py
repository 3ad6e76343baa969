"""The run page's buttons: Continue / Approve / Reject, Skip the wait, Retry from here; and the step partials."""

import re

import pytest
from django.template.loader import render_to_string

from apps.executions.actions import step_actions_for
from apps.executions.models import Execution, StepRun
from apps.executions.services.start import execution_start
from tests.support.executions import run_now

ROLES = ["owner", "editor", "runner", "viewer", "outsider", "staff", "admin"]


def gate(key: str, kind: str) -> dict:
    return {"key": key, "kind": "instruction", "config": {"markdown": key, "gate": kind}}


@pytest.fixture
def waiting(cast, make_runbook):
    def make(blocks=None, starter=None):
        runbook = make_runbook(cast.owner, blocks or [gate("gate", "confirm"), gate("after", "none")])
        return run_now(execution_start(runbook=runbook, user=starter or cast.runner))

    return make


def body_of(execution, step_key, user) -> str:
    execution = Execution.objects.select_related("runbook", "triggered_by").get(pk=execution.pk)
    step = StepRun.objects.get(execution=execution, block_key=step_key)
    # The buttons are decided for the viewer outside the template (apps.executions.actions), as the page does.
    actions = step_actions_for(user=user, execution=execution, step=step)
    context = {"execution": execution, "step": step, "user": user, "actions": actions}
    return render_to_string("executions/steps/_body.html", context)


@pytest.mark.parametrize(
    ("role", "status", "decided"),
    [
        ("owner", 302, True),
        ("editor", 302, True),
        ("runner", 302, True),
        ("viewer", 403, False),
        ("outsider", 404, False),
        ("staff", 404, False),
        ("admin", 302, True),
    ],
)
def test_decide_answers_each_role(waiting, cast, client_for, role, status, decided):
    execution = waiting()
    response = client_for(getattr(cast, role)).post(
        f"/executions/{execution.pk}/decide", {"step": "gate", "decision": "continue"}
    )
    assert response.status_code == status
    assert (execution.steps.get(block_key="gate").status == "succeeded") is decided


def test_anonymous_is_sent_to_sign_in(waiting, client):
    execution = waiting()
    response = client.post(f"/executions/{execution.pk}/decide", {"step": "gate"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert execution.steps.get(block_key="gate").status == "waiting"


def test_the_starters_approval_is_refused_with_a_message_on_the_page(waiting, cast, client_for):
    execution = waiting([gate("gate", "approval")], starter=cast.runner)
    response = client_for(cast.runner).post(
        f"/executions/{execution.pk}/decide", {"step": "gate", "decision": "approve"}, follow=True
    )
    assert "a runner other than you must approve" in response.content.decode()
    assert execution.steps.get(block_key="gate").status == "waiting"


def test_a_bad_decision_comes_back_with_the_reason(waiting, cast, client_for):
    execution = waiting()
    response = client_for(cast.runner).post(
        f"/executions/{execution.pk}/decide", {"step": "gate", "decision": "maybe"}, follow=True
    )
    assert "takes one of: continue, reject" in response.content.decode()
    assert execution.steps.get(block_key="gate").status == "waiting"


def test_get_is_not_allowed(waiting, cast, client_for):
    execution = waiting()
    assert client_for(cast.runner).get(f"/executions/{execution.pk}/decide").status_code == 405


@pytest.mark.parametrize(("role", "status"), [("runner", 302), ("viewer", 403), ("outsider", 404)])
def test_skip_timer_answers_each_role(waiting, cast, client_for, role, status):
    execution = waiting([{"key": "pause", "kind": "timer", "config": {"seconds": 600}}])
    response = client_for(getattr(cast, role)).post(f"/executions/{execution.pk}/skip-timer", {"step": "pause"})
    assert response.status_code == status
    assert (execution.steps.get(block_key="pause").status == "succeeded") is (status == 302)


@pytest.mark.parametrize(("role", "status"), [("runner", 302), ("viewer", 403), ("outsider", 404)])
def test_retry_answers_each_role(waiting, cast, client_for, role, status):
    execution = waiting()
    client_for(cast.owner).post(f"/executions/{execution.pk}/decide", {"step": "gate", "decision": "reject"})
    response = client_for(getattr(cast, role)).post(f"/executions/{execution.pk}/retry", {"from": "gate"})
    assert response.status_code == status
    assert Execution.objects.count() == (2 if status == 302 else 1)
    if status == 302:
        retry = Execution.objects.exclude(pk=execution.pk).get()
        assert response["Location"] == f"/executions/{retry.pk}/"


def test_a_confirm_gate_shows_continue_and_reject_to_runners_only(waiting, cast):
    execution = waiting()
    runner = body_of(execution, "gate", cast.runner)
    assert 'value="continue"' in runner and 'value="reject"' in runner
    assert "Waiting for someone with run rights to continue." in runner
    viewer = body_of(execution, "gate", cast.viewer)
    assert "<button" not in viewer
    assert "<button" not in body_of(execution, "gate", None)


def test_an_approval_gate_says_who_may_approve(waiting, cast):
    execution = waiting([gate("gate", "approval")], starter=cast.runner)
    other = body_of(execution, "gate", cast.editor)
    assert "Needs approval by a runner other than <strong>runner</strong>." in other
    assert 'value="approve"' in other
    starter = body_of(execution, "gate", cast.runner)
    assert 'value="approve"' not in starter and 'value="reject"' in starter
    assert "You started this run, so you cannot approve it" in starter


def test_the_decision_shows_who_and_when(waiting, cast, client_for):
    execution = waiting()
    client_for(cast.editor).post(f"/executions/{execution.pk}/decide", {"step": "gate", "decision": "continue"})
    body = body_of(execution, "gate", cast.viewer)
    assert "✔ Continued" in body and "<strong>editor</strong>" in body
    assert "<button" not in body


def test_a_timer_shows_its_countdown_and_skip_button(waiting, cast):
    execution = waiting([{"key": "pause", "kind": "timer", "config": {"seconds": 600}}])
    step = execution.steps.get(block_key="pause")
    body = body_of(execution, "pause", cast.runner)
    assert f'data-until="{step.result["wait"]["until"]}"' in body
    assert re.search(r'class="countdown-left">(10 min 00|9 min 59) s<', body)
    assert "Skip the wait" in body
    assert "Skip the wait" not in body_of(execution, "pause", cast.viewer)


def test_a_skipped_timer_says_who_skipped_it(waiting, cast, client_for):
    execution = waiting([{"key": "pause", "kind": "timer", "config": {"seconds": 600}}])
    client_for(cast.runner).post(f"/executions/{execution.pk}/skip-timer", {"step": "pause"})
    assert "Skipped by <strong>runner</strong>" in body_of(execution, "pause", cast.viewer)


def test_a_failed_step_offers_retry_and_a_retry_marks_carried_steps(waiting, cast, client_for):
    execution = waiting([gate("first", "none"), gate("gate", "confirm")])
    client_for(cast.owner).post(f"/executions/{execution.pk}/decide", {"step": "gate", "decision": "reject"})
    assert "Retry from here" in body_of(execution, "gate", cast.runner)
    assert "Retry from here" not in body_of(execution, "gate", cast.viewer)
    assert "Retry from here" not in body_of(execution, "first", cast.runner)
    client_for(cast.runner).post(f"/executions/{execution.pk}/retry", {"from": "gate"})
    retry = Execution.objects.exclude(pk=execution.pk).get()
    assert "carried" in body_of(retry, "first", cast.viewer)
    assert f"#{execution.pk}" in body_of(retry, "first", cast.viewer)
    assert "carried" not in body_of(retry, "gate", cast.viewer)


def test_api_call_request_and_response_show_the_credential_only_by_name(waiting, cast):
    execution = waiting([gate("first", "none")])
    step = execution.steps.get()
    step.kind = "api_call"
    step.result = {
        "status_code": 200,
        "headers": {"content-type": "application/json"},
        "json": {"status": "ok", "replicas": "3"},
        "body": '{"status": "ok", "replicas": "3"}',
        "body_truncated": True,
        "request": {
            "method": "GET",
            "url": "https://api.example.com/health",
            "headers": {"Authorization": "(credential “deploy-token”)", "Accept": "application/json"},
            "body_bytes": 0,
        },
    }
    step.save()
    body = body_of(execution, "first", cast.viewer)
    assert "GET https://api.example.com/health" in body
    assert "(credential “deploy-token”)" in body
    assert "&quot;replicas&quot;: &quot;3&quot;" in body
    assert "cut at the response cap" in body
    assert "200" in body


def test_conditional_and_command_show_their_result(waiting, cast):
    execution = waiting([gate("first", "none"), gate("second", "none")])
    first, second = execution.steps.order_by("position")
    StepRun.objects.filter(pk=first.pk).update(kind="conditional", result={"value": False, "action": "goto:cleanup"})
    StepRun.objects.filter(pk=second.pk).update(kind="command", exit_code=3, result={"values": {"replicas": "3"}})
    conditional = body_of(execution, "first", cast.viewer)
    assert "<code>false</code>" in conditional and "jump to <code>cleanup</code>" in conditional
    command = body_of(execution, "second", cast.viewer)
    assert ">3</span>" in command and "<code>replicas</code>" in command


def test_a_steps_body_carries_the_buttons_of_the_person_it_is_rendered_for(waiting, cast):
    execution = waiting()
    assert 'value="continue"' in body_of(execution, "gate", cast.runner)
    assert "<button" not in body_of(execution, "gate", cast.viewer)
    assert "<button" not in body_of(execution, "gate", None)
    assert "hx-get" not in body_of(execution, "gate", cast.runner), "no loader: the buttons are in the body"


def test_the_actions_route_is_gone(waiting, cast, client_for):
    execution = waiting()
    step = execution.steps.get(block_key="gate")
    assert client_for(cast.runner).get(f"/executions/{execution.pk}/steps/{step.pk}/actions").status_code == 404


def test_the_run_page_links_a_retry_to_its_original_and_decides_in_place(waiting, cast, client_for):
    execution = waiting([gate("first", "none"), gate("gate", "approval")], starter=cast.runner)
    editor = client_for(cast.editor)
    page = editor.get(f"/executions/{execution.pk}/").content.decode()
    assert "Needs approval by a runner other than <strong>runner</strong>." in page and 'value="approve"' in page
    # From the page with htmx: the execution region comes back in place, showing the decision.
    region = editor.post(
        f"/executions/{execution.pk}/decide", {"step": "gate", "decision": "reject"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert f'id="execution-{execution.pk}"' in region and "✘ Rejected" in region and "Retry from here" in region
    editor.post(f"/executions/{execution.pk}/retry", {"from": "gate"})
    retry = Execution.objects.exclude(pk=execution.pk).get()
    page = client_for(cast.viewer).get(f"/executions/{retry.pk}/").content.decode()
    assert f'<a href="/executions/{execution.pk}/">run #{execution.pk}</a>' in page
