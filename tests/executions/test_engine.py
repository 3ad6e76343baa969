"""The walk: order, instruction gates and resume, failures, at-most-once, audit of the finish."""

import pytest

from apps.audit.models import AuditEvent
from apps.executions.engine.run import execution_resume
from apps.executions.jobs import run_execution
from apps.executions.models import Execution, StepRun
from apps.executions.services.cancel import execution_cancel
from apps.executions.services.start import execution_start
from tests.support.executions import command, output_of, run_now


def instruction(key: str, gate: str = "none") -> dict:
    return {"key": key, "kind": "instruction", "config": {"markdown": f"Read {key}", "gate": gate}}


def statuses(execution) -> list[tuple[str, str]]:
    return list(execution.steps.order_by("position").values_list("block_key", "status"))


def test_a_full_run_walks_every_block_in_order(cast, make_runbook, docker_engine):
    runbook = make_runbook(cast.owner, [instruction("read"), command("first", "echo 1"), command("second", "echo 2")])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    assert execution.status == "succeeded", execution.error
    assert statuses(execution) == [("read", "succeeded"), ("first", "succeeded"), ("second", "succeeded")]
    first, second = execution.steps.filter(kind="command").order_by("position")
    assert first.finished_at <= second.started_at
    assert (output_of(first), output_of(second)) == ("1\n", "2\n")
    assert execution.started_at and execution.finished_at and execution.lease_expires_at is None
    finish = AuditEvent.objects.get(action="execution.finish")
    assert finish.detail == {"status": "succeeded"} and finish.object_id == str(execution.pk)


def test_a_failed_step_fails_the_run_and_skips_the_rest(cast, make_runbook, docker_engine):
    runbook = make_runbook(cast.owner, [command("break", "exit 4"), command("after", "echo never")])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    assert execution.status == "failed"
    assert execution.error == "Step break failed: exit code 4"
    assert statuses(execution) == [("break", "failed"), ("after", "skipped")]
    assert execution.steps.get(block_key="break").exit_code == 4


def test_continue_on_error_lets_the_run_go_on(cast, make_runbook, docker_engine):
    runbook = make_runbook(
        cast.owner, [command("break", "exit 4", continue_on_error=True), command("after", "echo after")]
    )
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    assert statuses(execution) == [("break", "failed"), ("after", "succeeded")]
    assert execution.status == "succeeded"


def test_an_instruction_with_no_gate_is_recorded_as_shown(cast, make_runbook):
    runbook = make_runbook(cast.owner, [instruction("read")])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    step = execution.steps.get()
    assert (execution.status, step.status, step.result) == ("succeeded", "succeeded", {"shown": True, "gate": "none"})


@pytest.mark.parametrize("gate", ["confirm", "approval"])
def test_a_gate_makes_the_run_wait_without_holding_a_worker(cast, make_runbook, gate):
    runbook = make_runbook(cast.owner, [instruction("check", gate), instruction("after")])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    assert execution.status == "waiting"
    assert execution.next_position == 0 and execution.lease_expires_at is None and execution.worker_name == ""
    assert statuses(execution) == [("check", "waiting"), ("after", "pending")]
    assert execution.steps.get(block_key="check").result["wait"]["reason"] == gate


def test_resume_continues_after_the_gate_was_passed(cast, make_runbook):
    runbook = make_runbook(cast.owner, [instruction("check", "confirm"), instruction("after")])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    # What the gates issue's confirm service does: mark the step, then enqueue resume_execution.
    StepRun.objects.filter(execution=execution, block_key="check").update(status="succeeded", confirmed_by=cast.runner)
    execution_resume(execution_id=execution.pk)
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert statuses(execution) == [("check", "succeeded"), ("after", "succeeded")]


def test_resume_while_the_gate_still_waits_puts_the_run_back_to_waiting(cast, make_runbook):
    runbook = make_runbook(cast.owner, [instruction("check", "confirm"), instruction("after")])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    execution_resume(execution_id=execution.pk)
    execution.refresh_from_db()
    assert execution.status == "waiting"
    assert statuses(execution) == [("check", "waiting"), ("after", "pending")]


def test_cancelling_a_waiting_run_cancels_it_at_once(cast, make_runbook):
    runbook = make_runbook(cast.owner, [instruction("check", "confirm"), instruction("after")])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    execution_cancel(execution=execution, user=cast.runner)
    execution.refresh_from_db()
    assert execution.status == "cancelled" and execution.cancelled_by == cast.runner
    assert statuses(execution) == [("check", "cancelled"), ("after", "cancelled")]
    execution_resume(execution_id=execution.pk)
    execution.refresh_from_db()
    assert execution.status == "cancelled"


def test_a_cancelled_queued_run_is_never_started(cast, make_runbook):
    runbook = make_runbook(cast.owner, [instruction("read")])
    execution = execution_start(runbook=runbook, user=cast.runner)
    execution_cancel(execution=execution, user=cast.runner)
    run_execution(execution.pk)
    execution.refresh_from_db()
    assert execution.status == "cancelled" and execution.started_at is None
    assert statuses(execution) == [("read", "cancelled")]


def test_a_run_is_claimed_once(cast, make_runbook):
    runbook = make_runbook(cast.owner, [instruction("read")])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    finished_at = execution.finished_at
    run_execution(execution.pk)  # a duplicate delivery of the job
    execution.refresh_from_db()
    assert execution.finished_at == finished_at
    assert AuditEvent.objects.filter(action="execution.finish").count() == 1


def test_a_step_found_running_is_never_run_again(cast, make_runbook):
    runbook = make_runbook(cast.owner, [instruction("check", "confirm"), command("side_effect", "echo twice")])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    # As if a worker had started the next step and died: resumed, it must not run it again.
    StepRun.objects.filter(execution=execution, block_key="check").update(status="succeeded")
    StepRun.objects.filter(execution=execution, block_key="side_effect").update(status="running")
    Execution.objects.filter(pk=execution.pk).update(next_position=1)
    execution_resume(execution_id=execution.pk)
    execution.refresh_from_db()
    step = execution.steps.get(block_key="side_effect")
    assert execution.status == "incomplete"
    assert step.status == "failed" and not step.chunks.exists()
    assert "lost at step side_effect" in execution.error and "not re-run" in step.error


def test_an_empty_block_list_succeeds_at_once(cast, make_runbook):
    runbook = make_runbook(cast.owner, [])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    assert execution.status == "succeeded" and not execution.steps.exists()
