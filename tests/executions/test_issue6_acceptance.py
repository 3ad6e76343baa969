"""Issue 6's acceptance, with real Docker and Redis and the engine in-process.

api_call GET to a local (allow-listed) server answering JSON → conditional on
steps.check.result.json.status == "ok" that continues to a command using the values, or jumps to
cleanup → timer of 2 s → instruction with approval by a second user → a final command.
"""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.executions.jobs import resume_execution
from apps.executions.queue import executions_queue, timer_job_id
from apps.executions.services.decide import execution_confirm
from apps.executions.services.start import execution_start
from tests.support.executions import output_of, run_now

USE_VALUES = (
    'echo "replicas=$(grep -o \'"replicas": "[0-9]*"\' "$RB_STEP_CHECK_OUTPUT_FILE" | grep -o \'[0-9][0-9]*\')"'
    ' >> "$RB_OUTPUTS_FILE"\n'
    'echo "check exit code: ${RB_STEP_CHECK_EXIT_CODE:-none}, status: $RB_STEP_CHECK_STATUS"\n'
    'echo "decide status: $RB_STEP_DECIDE_STATUS"\n'
)


@pytest.fixture
def health_server(settings):
    """A local service answering GET /health with the JSON body the test sets."""
    answer = {"body": {"status": "ok", "replicas": "3"}}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(answer["body"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.RUNBOOKS_HTTP_ALLOWLIST = ["127.0.0.1/32"]
    yield answer, f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()
    server.server_close()


@pytest.fixture
def incident_runbook(cast, make_runbook, health_server):
    _, url = health_server
    return make_runbook(
        cast.owner,
        [
            {"key": "check", "kind": "api_call", "config": {"method": "GET", "url": url, "expected_status": [200]}},
            {
                "key": "decide",
                "kind": "conditional",
                "config": {
                    "expression": 'steps.check.result.json.status == "ok"',
                    "on_true": "continue",
                    "on_false": "goto:cleanup",
                },
            },
            {"key": "use", "kind": "command", "config": {"script": USE_VALUES}},
            {"key": "pause", "kind": "timer", "config": {"seconds": 2}},
            {
                "key": "approve",
                "kind": "instruction",
                "config": {"markdown": "Scale down?", "gate": "approval"},
            },
            {
                "key": "cleanup",
                "kind": "command",
                "config": {"script": 'echo "cleanup after replicas=${RB_STEP_USE_STATUS:-not run}"'},
            },
        ],
    )


def statuses(execution) -> dict:
    return dict(execution.steps.order_by("position").values_list("block_key", "status"))


def test_the_ok_branch_runs_every_step_through_timer_and_approval(cast, incident_runbook, docker_engine):
    queue = executions_queue()
    execution = run_now(execution_start(runbook=incident_runbook, user=cast.runner))

    check = execution.steps.get(block_key="check")
    assert (check.status, check.result["status_code"], check.result["json"]) == (
        "succeeded",
        200,
        {"status": "ok", "replicas": "3"},
    )
    decide = execution.steps.get(block_key="decide")
    assert decide.result == {"value": True, "action": "continue"}
    use = execution.steps.get(block_key="use")
    assert use.status == "succeeded", use.error
    assert use.result["values"] == {"replicas": "3"}
    assert "check exit code: none, status: succeeded" in output_of(use)
    assert "decide status: succeeded" in output_of(use)

    # The timer: the run waits, holding no worker, with its continuation in Redis's schedule.
    pause = execution.steps.get(block_key="pause")
    assert (execution.status, pause.status, execution.worker_name) == ("waiting", "waiting", "")
    assert timer_job_id(execution.pk, pause.pk) in queue.scheduled_job_registry.get_job_ids()
    scheduled = queue.fetch_job(timer_job_id(execution.pk, pause.pk))
    # What the scheduler enqueues and a worker runs once it is due, with the clock moved past the timer.
    with time_machine.travel(timezone.now() + timedelta(seconds=2.1), tick=True):
        scheduled.func(*scheduled.args)
    queue.scheduled_job_registry.remove(scheduled, delete_job=True)
    execution.refresh_from_db()
    assert statuses(execution)["pause"] == "succeeded"

    # The approval gate: the starter may not approve; a second runner does.
    assert (execution.status, statuses(execution)["approve"]) == ("waiting", "waiting")

    with pytest.raises(PermissionDenied):
        execution_confirm(execution=execution, user=cast.runner, key="approve")
    execution_confirm(execution=execution, user=cast.editor, key="approve")
    resume_execution(execution.pk)
    execution.refresh_from_db()

    assert execution.status == "succeeded", execution.error
    assert set(statuses(execution).values()) == {"succeeded"}
    approve = execution.steps.get(block_key="approve")
    assert (approve.result["decision"], approve.result["by"], approve.confirmed_by) == (
        "approve",
        "editor",
        cast.editor,
    )
    assert output_of(execution.steps.get(block_key="cleanup")) == "cleanup after replicas=succeeded\n"
    queue.empty()


def test_the_not_ok_branch_jumps_to_cleanup_and_marks_the_rest_skipped(
    cast, incident_runbook, health_server, docker_engine
):
    answer, _ = health_server
    answer["body"] = {"status": "degraded", "replicas": "1"}
    execution = run_now(execution_start(runbook=incident_runbook, user=cast.runner))

    assert execution.status == "succeeded", execution.error
    assert execution.steps.get(block_key="decide").result == {"value": False, "action": "goto:cleanup"}
    assert statuses(execution) == {
        "check": "succeeded",
        "decide": "succeeded",
        "use": "skipped",
        "pause": "skipped",
        "approve": "skipped",
        "cleanup": "succeeded",
    }
    assert output_of(execution.steps.get(block_key="cleanup")) == "cleanup after replicas=not run\n"
