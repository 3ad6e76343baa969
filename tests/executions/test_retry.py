"""continue_on_error and "Retry from this step": a new run of the same version, earlier results carried."""

import pytest
from django.core.exceptions import PermissionDenied

from apps.audit.models import AuditEvent
from apps.core.errors import Conflict, InvalidInput
from apps.executions.models import Execution
from apps.executions.services.retry import execution_retry_from
from apps.executions.services.start import execution_start
from tests.support.executions import command, output_of, run_now


@pytest.fixture
def failed_run(cast, make_runbook, docker_engine):
    runbook = make_runbook(
        cast.owner,
        [
            command("prepare", 'echo prepared; echo "token=abc" >> "$RB_OUTPUTS_FILE"'),
            command(
                "flaky",
                'test -n "$RB_PARAM_FIX" || { echo broken; exit 3; }; echo "fixed with $RB_STEP_PREPARE_STATUS"',
            ),
            command("finish", 'echo "finish sees $(cat "$RB_STEP_PREPARE_OUTPUT_FILE")"'),
        ],
        parameters=[{"name": "fix", "label": "Fix", "default": "", "required": False, "choices": None}],
    )
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    assert execution.status == "failed"
    return execution


def test_continue_on_error_on_an_api_call_lets_the_run_go_on(cast, make_runbook, settings):
    settings.RUNBOOKS_HTTP_ALLOWLIST = []
    runbook = make_runbook(
        cast.owner,
        [
            {
                "key": "probe",
                "kind": "api_call",
                "config": {"method": "GET", "url": "http://127.0.0.1:9/", "continue_on_error": True},
            },
            {"key": "after", "kind": "instruction", "config": {"markdown": "go on", "gate": "none"}},
        ],
    )
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    assert execution.status == "succeeded"
    assert execution.steps.get(block_key="probe").status == "failed"
    assert execution.steps.get(block_key="after").status == "succeeded"


def test_retry_from_the_failed_step_carries_the_earlier_results(failed_run, cast):
    retry = execution_retry_from(execution=failed_run, user=cast.editor, key="flaky")
    assert (retry.retry_of, retry.version, retry.params, retry.snapshot) == (
        failed_run,
        failed_run.version,
        failed_run.params,
        failed_run.snapshot,
    )
    assert retry.triggered_by == cast.editor
    prepare = retry.steps.get(block_key="prepare")
    original = failed_run.steps.get(block_key="prepare")
    assert (prepare.carried, prepare.status, prepare.result, prepare.started_at) == (
        True,
        "succeeded",
        original.result,
        original.started_at,
    )
    assert output_of(prepare) == "prepared\n"
    assert [(step.block_key, step.status, step.carried) for step in retry.steps.order_by("position")][1:] == [
        ("flaky", "pending", False),
        ("finish", "pending", False),
    ]
    assert AuditEvent.objects.filter(action="execution.retry", object_id=str(retry.pk)).exists()

    run_now(retry)
    # Same params, so the same failure: the walk started at "flaky" and never re-ran "prepare".
    assert retry.status == "failed"
    assert retry.steps.get(block_key="prepare").started_at == original.started_at


def test_a_retried_run_gives_later_steps_the_carried_data(cast, make_runbook, docker_engine):
    runbook = make_runbook(
        cast.owner,
        [
            command("prepare", 'echo prepared; echo "token=abc" >> "$RB_OUTPUTS_FILE"'),
            command("flaky", "exit 1"),
            command("finish", 'echo "finish sees $(cat "$RB_STEP_PREPARE_OUTPUT_FILE")"'),
        ],
    )
    failed = run_now(execution_start(runbook=runbook, user=cast.runner))
    retry = run_now(execution_retry_from(execution=failed, user=cast.runner, key="finish"))
    assert retry.status == "succeeded", retry.error
    assert output_of(retry.steps.get(block_key="finish")) == "finish sees prepared\n"
    assert retry.steps.get(block_key="flaky").carried is True


def test_a_succeeded_run_cannot_be_retried(cast, make_runbook):
    runbook = make_runbook(cast.owner, [{"key": "note", "kind": "instruction", "config": {"markdown": "x"}}])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    with pytest.raises(Conflict, match="Only a failed"):
        execution_retry_from(execution=execution, user=cast.runner, key="note")
    assert Execution.objects.count() == 1


def test_an_unknown_step_is_refused(failed_run, cast):
    with pytest.raises(InvalidInput) as raised:
        execution_retry_from(execution=failed_run, user=cast.runner, key="nope")
    assert raised.value.errors == {"from": ["This run has no step “nope”."]}
    assert Execution.objects.count() == 1


def test_a_viewer_cannot_retry(failed_run, cast):
    with pytest.raises(PermissionDenied):
        execution_retry_from(execution=failed_run, user=cast.viewer, key="flaky")
    assert Execution.objects.count() == 1


def test_a_draft_run_needs_an_editor_to_retry(failed_run, cast):
    Execution.objects.filter(pk=failed_run.pk).update(draft=True, version=None)
    failed_run.refresh_from_db()
    with pytest.raises(PermissionDenied, match="only editors"):
        execution_retry_from(execution=failed_run, user=cast.runner, key="flaky")
    assert execution_retry_from(execution=failed_run, user=cast.editor, key="flaky").draft is True
