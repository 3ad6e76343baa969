"""Issue 12.2: a runner cannot get past an approval gate by running the block after it on its own,
by cancelling and retrying from it, or by running an older version. Real Docker, Redis and the DB."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from apps.automation.schedules import schedule_create, schedule_update, schedules_tick
from apps.automation.services import trigger_create, trigger_rotate
from apps.executions.jobs import resume_execution
from apps.executions.models import Execution
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.runbooks import runbook_update
from apps.runbooks.versions import runbook_publish
from tests.support.executions import output_of, run_now

BLOCKS = [
    {"key": "approve", "kind": "instruction", "config": {"markdown": "A second person approves.", "gate": "approval"}},
    {"key": "danger", "kind": "command", "config": {"script": "echo danger ran"}},
]


@pytest.fixture
def gated(cast, make_runbook):
    return make_runbook(cast.owner, BLOCKS, title="Gated")


@pytest.fixture
def second_runner(cast, gated, django_user_model):
    other = django_user_model.objects.create_user("second-runner", password="x")
    runbook_grant(runbook=gated, actor=cast.owner, principal=other, role="runner")
    return other


def start(api, runbook, **body):
    answer = api.post(f"/api/v1/runbooks/{runbook.pk}/executions/", body, format="json")
    assert answer.status_code == 202, answer.content
    return run_now(Execution.objects.get(pk=answer.json()["id"]))


def steps_of(execution) -> dict[str, str]:
    return {step.block_key: step.status for step in execution.steps.order_by("position")}


def confirm(api, execution, key: str, decision: str = "approve"):
    return api.post(f"/api/v1/executions/{execution.pk}/steps/{key}/confirm/", {"decision": decision}, format="json")


def test_a_single_block_run_after_an_approval_gate_waits_for_a_second_person(
    cast, api_for, gated, second_runner, docker_engine
):
    runner = api_for(cast.runner)
    execution = start(runner, gated, block="danger")
    assert execution.status == "waiting"
    assert steps_of(execution) == {"approve": "waiting", "danger": "pending"}
    assert confirm(runner, execution, "approve").status_code == 403
    execution.refresh_from_db()
    assert steps_of(execution)["danger"] == "pending"

    assert confirm(api_for(second_runner), execution, "approve").status_code == 200

    resume_execution(execution.pk)
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert output_of(execution.steps.get(block_key="danger")).strip() == "danger ran"
    assert execution.steps.get(block_key="approve").confirmed_by == second_runner


def test_cancel_and_retry_from_the_guarded_block_waits_on_the_gate_again(cast, api_for, gated, docker_engine):
    runner = api_for(cast.runner)
    first = start(runner, gated)
    assert steps_of(first) == {"approve": "waiting", "danger": "pending"}
    assert runner.post(f"/api/v1/executions/{first.pk}/cancel/", {}, format="json").status_code == 202
    answer = runner.post(f"/api/v1/executions/{first.pk}/retry/", {"from": "danger"}, format="json")
    assert answer.status_code == 201, answer.content
    retry = run_now(Execution.objects.get(pk=answer.json()["id"]))
    assert retry.status == "waiting"
    assert steps_of(retry) == {"approve": "waiting", "danger": "pending"}
    assert output_of(retry.steps.get(block_key="danger")) == ""
    assert confirm(runner, retry, "approve").status_code == 403


def test_a_retry_after_an_approved_gate_keeps_the_approval(cast, api_for, gated, second_runner, docker_engine):
    """The gate was passed by a second person in the run being retried: its decision is carried."""

    runbook_update(
        runbook=gated, user=cast.owner, revision=gated.revision,
        blocks=[BLOCKS[0], {"key": "danger", "kind": "command", "config": {"script": "exit 3"}}],
    )  # fmt: skip
    runbook_publish(runbook=gated, user=cast.owner, message="fails")
    runner = api_for(cast.runner)
    first = start(runner, gated)
    assert confirm(api_for(second_runner), first, "approve").status_code == 200
    resume_execution(first.pk)
    first.refresh_from_db()
    assert first.status == "failed"
    answer = runner.post(f"/api/v1/executions/{first.pk}/retry/", {"from": "danger"}, format="json")
    retry = run_now(Execution.objects.get(pk=answer.json()["id"]))
    assert steps_of(retry) == {"approve": "succeeded", "danger": "failed"}


def test_a_confirm_gate_is_passed_by_the_click_that_runs_it(cast, api_for, make_runbook, docker_engine):
    runbook = make_runbook(
        cast.owner,
        [{"key": "check", "kind": "instruction", "config": {"markdown": "Look first.", "gate": "confirm"}}],
        title="Confirm",
    )
    execution = start(api_for(cast.runner), runbook, block="check")
    assert execution.status == "succeeded"
    step = execution.steps.get()
    assert step.status == "succeeded" and step.confirmed_by == cast.runner


def test_a_runner_cannot_run_an_older_version(cast, api_for, gated):
    runbook_update(runbook=gated, user=cast.owner, revision=gated.revision, blocks=[{**BLOCKS[1], "key": "only"}])
    runbook_publish(runbook=gated, user=cast.owner, message="v2")
    before = Execution.objects.count()
    answer = api_for(cast.runner).post(f"/api/v1/runbooks/{gated.pk}/executions/", {"version": 1}, format="json")
    assert answer.status_code == 403
    assert "latest published version (v2)" in answer.json()["detail"]
    assert Execution.objects.count() == before
    assert (
        api_for(cast.runner).post(f"/api/v1/runbooks/{gated.pk}/executions/", {"version": 2}, format="json").status_code
        == 202
    )
    # Editors may run any version, recorded as such.
    answer = api_for(cast.editor).post(f"/api/v1/runbooks/{gated.pk}/executions/", {"version": 1}, format="json")
    assert answer.status_code == 202 and answer.json()["version"] == 1


def test_a_runner_cannot_retry_a_run_of_an_older_version(cast, api_for, gated):
    editor_run = api_for(cast.editor).post(f"/api/v1/runbooks/{gated.pk}/executions/", {}, format="json").json()
    api_for(cast.editor).post(f"/api/v1/executions/{editor_run['id']}/cancel/", {}, format="json")
    runbook_update(runbook=gated, user=cast.owner, revision=gated.revision, blocks=[{**BLOCKS[1], "key": "only"}])
    runbook_publish(runbook=gated, user=cast.owner, message="v2")
    answer = api_for(cast.runner).post(
        f"/api/v1/executions/{editor_run['id']}/retry/", {"from": "danger"}, format="json"
    )
    assert answer.status_code == 403


# A run a trigger or a schedule started has no clicking starter, but people set it in motion: whoever
# created the trigger or holds its secret (rotated it), whoever created or changed the schedule. None of
# them may approve its gate, or an editor could fire their own hook and wave their own run through.


def fire_hook(trigger, secret: str) -> Execution:
    answer = Client().post(
        reverse("automation:hook", args=[trigger.uuid]), data=b"{}", content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )  # fmt: skip
    assert answer.status_code == 202, answer.content
    return run_now(Execution.objects.get(pk=answer.json()["executions"][0]["id"]))


def test_the_editor_who_made_a_trigger_cannot_approve_the_run_it_fired(
    cast, api_for, gated, second_runner, docker_engine
):
    trigger, secret = trigger_create(runbook=gated, user=cast.editor, data={"name": "mine", "kind": "generic"})
    execution = fire_hook(trigger, secret)
    assert steps_of(execution) == {"approve": "waiting", "danger": "pending"}
    refused = confirm(api_for(cast.editor), execution, "approve")
    assert refused.status_code == 403, refused.content
    assert "cannot approve" in refused.json()["detail"]
    assert confirm(api_for(second_runner), execution, "approve").status_code == 200


def test_whoever_rotated_a_triggers_secret_cannot_approve_what_it_fires(cast, api_for, gated, docker_engine):
    trigger, _ = trigger_create(runbook=gated, user=cast.owner, data={"name": "owners", "kind": "generic"})
    secret = trigger_rotate(trigger=trigger, user=cast.editor)
    execution = fire_hook(trigger, secret)
    assert confirm(api_for(cast.editor), execution, "approve").status_code == 403
    assert confirm(api_for(cast.owner), execution, "approve").status_code == 403
    assert steps_of(execution)["danger"] == "pending"


def test_whoever_made_or_changed_a_schedule_cannot_approve_its_run(cast, api_for, gated, second_runner, docker_engine):
    schedule = schedule_create(runbook=gated, user=cast.owner, data={"cron": "* * * * *", "timezone": "UTC"})
    schedule_update(schedule=schedule, user=cast.editor, data={"cron": "* * * * *", "timezone": "UTC"})
    fires = schedules_tick(now=schedule.last_fire_at + datetime.timedelta(seconds=61))
    assert len(fires) == 1, fires
    fires[0].refresh_from_db()
    execution = run_now(Execution.objects.get(pk=fires[0].execution_id))
    assert steps_of(execution) == {"approve": "waiting", "danger": "pending"}
    for insider in (cast.owner, cast.editor):
        assert confirm(api_for(insider), execution, "approve").status_code == 403
    assert confirm(api_for(second_runner), execution, "approve").status_code == 200
