"""Gates on instruction blocks: confirm and approval, decided by people, recorded and audited."""

import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from apps.audit.models import AuditEvent
from apps.core.errors import Conflict, InvalidInput
from apps.executions.jobs import resume_execution
from apps.executions.models import Execution
from apps.executions.queue import executions_queue
from apps.executions.services.cancel import execution_cancel
from apps.executions.services.decide import execution_confirm
from apps.executions.services.start import execution_start
from tests.support.executions import run_now


def instruction(key: str, gate: str = "none") -> dict:
    return {"key": key, "kind": "instruction", "config": {"markdown": f"Read {key}", "gate": gate}}


@pytest.fixture
def waiting(cast, make_runbook, django_capture_on_commit_callbacks):
    """waiting(gate, starter=cast.runner) → an execution waiting on step "gate" before step "after"."""

    def make(gate: str, starter=None):
        runbook = make_runbook(cast.owner, [instruction("gate", gate), instruction("after")])
        execution = run_now(execution_start(runbook=runbook, user=starter or cast.runner))
        assert execution.status == "waiting"
        return execution

    return make


def decide(execution, user, decision=None, key="gate", *, capture):
    """Decide, then run the resume the decision enqueued, as the worker would."""
    with capture(execute=False) as callbacks:
        execution_confirm(execution=execution, user=user, key=key, decision=decision)
    for callback in callbacks:
        callback()
    resume_execution(execution.pk)
    execution.refresh_from_db()
    return execution


def test_a_runner_continues_a_confirm_gate_and_the_run_goes_on(waiting, cast, django_capture_on_commit_callbacks):
    execution = decide(waiting("confirm"), cast.editor, capture=django_capture_on_commit_callbacks)
    step = execution.steps.get(block_key="gate")
    assert execution.status == "succeeded"
    assert (step.status, step.confirmed_by, step.result["decision"], step.result["by"]) == (
        "succeeded",
        cast.editor,
        "continue",
        "editor",
    )
    assert step.confirmed_at is not None and step.result["at"]
    assert execution.steps.get(block_key="after").status == "succeeded"
    assert AuditEvent.objects.filter(action="execution.confirm", object_id=str(execution.pk)).exists()


def test_the_starter_may_pass_a_confirm_gate(waiting, cast, django_capture_on_commit_callbacks):
    execution = decide(waiting("confirm"), cast.runner, capture=django_capture_on_commit_callbacks)
    assert execution.status == "succeeded"


def test_the_decision_enqueues_the_resume_instead_of_holding_a_worker(
    waiting, cast, django_capture_on_commit_callbacks
):
    execution = waiting("confirm")
    queue = executions_queue()
    queue.empty()
    with django_capture_on_commit_callbacks(execute=True):
        execution_confirm(execution=execution, user=cast.editor, key="gate")
    jobs = queue.get_jobs()
    assert [(job.func_name, job.args) for job in jobs] == [("apps.executions.jobs.resume_execution", (execution.pk,))]
    queue.empty()


def test_approval_by_a_second_runner_passes(waiting, cast, django_capture_on_commit_callbacks):
    execution = decide(waiting("approval", cast.runner), cast.editor, capture=django_capture_on_commit_callbacks)
    step = execution.steps.get(block_key="gate")
    assert (execution.status, step.result["decision"], step.confirmed_by) == ("succeeded", "approve", cast.editor)
    assert AuditEvent.objects.filter(action="execution.approve", object_id=str(execution.pk)).exists()


def test_the_starter_cannot_approve_their_own_run(waiting, cast):
    execution = waiting("approval", cast.runner)
    with pytest.raises(PermissionDenied, match="a runner other than you must approve"):
        execution_confirm(execution=execution, user=cast.runner, key="gate")
    step = execution.steps.get(block_key="gate")
    assert (step.status, step.confirmed_by) == ("waiting", None)
    assert not AuditEvent.objects.filter(action="execution.approve").exists()


def test_reject_ends_the_run_failed_and_skips_the_rest(waiting, cast, django_capture_on_commit_callbacks):
    execution = waiting("approval", cast.runner)
    execution_confirm(execution=execution, user=cast.owner, key="gate", decision="reject")
    execution.refresh_from_db()
    step = execution.steps.get(block_key="gate")
    assert execution.status == "failed"
    assert execution.error == "Step gate was rejected by owner."
    assert (step.status, step.result["decision"], step.result["by"]) == ("failed", "reject", "owner")
    assert execution.steps.get(block_key="after").status == "skipped"
    assert AuditEvent.objects.filter(action="execution.reject", object_id=str(execution.pk)).exists()
    assert AuditEvent.objects.filter(action="execution.finish", object_id=str(execution.pk)).exists()


def test_the_starter_may_reject_their_own_approval_gate(waiting, cast):
    execution = waiting("approval", cast.runner)
    execution_confirm(execution=execution, user=cast.runner, key="gate", decision="reject")
    execution.refresh_from_db()
    assert execution.status == "failed"


def test_a_viewer_cannot_decide(waiting, cast):
    execution = waiting("confirm")
    with pytest.raises(PermissionDenied):
        execution_confirm(execution=execution, user=cast.viewer, key="gate")
    assert execution.steps.get(block_key="gate").status == "waiting"


def test_a_second_decision_is_a_conflict(waiting, cast):
    execution = waiting("confirm")
    execution_confirm(execution=execution, user=cast.editor, key="gate")
    with pytest.raises(Conflict, match="not waiting"):
        execution_confirm(execution=execution, user=cast.owner, key="gate", decision="reject")
    assert execution.steps.get(block_key="gate").result["by"] == "editor"


@pytest.mark.parametrize(
    ("gate", "decision"), [("confirm", "approve"), ("approval", "continue"), ("confirm", "yes"), ("approval", "")]
)
def test_a_decision_the_gate_does_not_take_is_refused(waiting, cast, gate, decision):
    execution = waiting(gate)
    if decision == "":
        decision = "maybe"
    with pytest.raises(InvalidInput) as raised:
        execution_confirm(execution=execution, user=cast.editor, key="gate", decision=decision)
    assert "takes one of" in raised.value.errors["decision"][0]
    assert execution.steps.get(block_key="gate").status == "waiting"


def test_an_unknown_step_is_refused(waiting, cast):
    with pytest.raises(InvalidInput, match="no step"):
        execution_confirm(execution=waiting("confirm"), user=cast.editor, key="nope")


def test_a_step_that_is_not_waiting_is_a_conflict(waiting, cast):
    with pytest.raises(Conflict, match="not waiting"):
        execution_confirm(execution=waiting("confirm"), user=cast.editor, key="after")


def test_a_cancelled_run_cannot_be_confirmed(waiting, cast):
    execution = waiting("confirm")
    execution_cancel(execution=execution, user=cast.runner)
    with pytest.raises(Conflict, match="already finished"):
        execution_confirm(execution=execution, user=cast.editor, key="gate")


def test_resume_twice_runs_the_rest_once(waiting, cast, django_capture_on_commit_callbacks):
    execution = decide(waiting("confirm"), cast.editor, capture=django_capture_on_commit_callbacks)
    finished_at = execution.finished_at
    resume_execution(execution.pk)
    execution.refresh_from_db()
    assert (execution.status, execution.finished_at) == ("succeeded", finished_at)
    assert AuditEvent.objects.filter(action="execution.finish", object_id=str(execution.pk)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_decisions_at_once_record_exactly_one(cast, make_runbook):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite serialises writers on its own")
    runbook = make_runbook(cast.owner, [instruction("gate", "confirm"), instruction("after")])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(user, decision):
        try:
            barrier.wait()
            execution_confirm(
                execution=Execution.objects.get(pk=execution.pk), user=user, key="gate", decision=decision
            )
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=attempt, args=args) for args in ((cast.editor, "continue"), (cast.owner, "reject"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    assert AuditEvent.objects.filter(action__in=["execution.confirm", "execution.reject"]).count() == 1
