"""Data between steps: earlier output as files, values published through RB_OUTPUTS_FILE."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.blocks.executors.command import OutputsTap
from apps.credentials.services import credential_create
from apps.executions.services.start import execution_start
from tests.support.executions import command, output_of, run_now


def run_blocks(cast, make_runbook, blocks):
    runbook = make_runbook(cast.owner, blocks)
    return run_now(execution_start(runbook=runbook, user=cast.owner))


def test_a_later_step_reads_an_earlier_steps_output_file_byte_for_byte(cast, make_runbook, docker_engine):
    execution = run_blocks(
        cast,
        make_runbook,
        [
            command("first", "printf 'line one\\n$HOME `x` \\\\ end'"),
            command("second", 'cat "$RB_STEP_FIRST_OUTPUT_FILE"; echo; echo "code=$RB_STEP_FIRST_EXIT_CODE"'),
        ],
    )
    second = execution.steps.get(block_key="second")
    assert execution.status == "succeeded", execution.error
    assert output_of(second) == "line one\n$HOME `x` \\ end\ncode=0\n"


def test_published_values_land_in_the_result_and_never_in_the_output(cast, make_runbook, docker_engine):
    script = 'echo "replicas=3" >> "$RB_OUTPUTS_FILE"; echo "region=eu west" >> "$RB_OUTPUTS_FILE"; echo done'
    execution = run_blocks(
        cast,
        make_runbook,
        [
            command("publish", script),
            {
                "key": "check",
                "kind": "conditional",
                "config": {
                    "expression": 'steps.publish.result.values.replicas == "3"',
                    "on_true": "continue",
                    "on_false": "fail",
                },
            },
        ],
    )
    publish = execution.steps.get(block_key="publish")
    assert execution.status == "succeeded", execution.error
    assert publish.result["values"] == {"replicas": "3", "region": "eu west"}
    assert output_of(publish) == "done\n"
    assert "RB_OUTPUTS_" not in output_of(publish)


def test_the_exit_code_survives_the_outputs_wrapper(run_script):
    _execution, step = run_script('echo "a=1" > "$RB_OUTPUTS_FILE"; exit 7')
    assert (step.status, step.exit_code, step.result["values"]) == ("failed", 7, {"a": "1"})


def test_a_broken_outputs_file_fails_the_step_with_the_line(run_script):
    execution, step = run_script('echo "no separator" > "$RB_OUTPUTS_FILE"; echo "9bad=x" >> "$RB_OUTPUTS_FILE"')
    assert step.status == "failed"
    assert "line 1: expected name=value" in step.error
    assert "line 2" in step.error
    assert "values" not in step.result
    assert execution.status == "failed"


def test_no_outputs_file_written_means_no_values(run_script):
    _execution, step = run_script("echo hello")
    assert (step.status, output_of(step)) == ("succeeded", "hello\n")
    assert "values" not in step.result


@pytest.mark.parametrize("pieces", [1, 2, 3, 7, 50])
def test_the_tap_finds_the_marker_split_across_writes(pieces):
    written = []
    tap = OutputsTap(written.append, "MARK")
    stream = "out\nput\nMARK\nx=1\n"
    size = max(1, len(stream) // pieces)
    for start in range(0, len(stream), size):
        tap(stream[start : start + size])
    tap.close()
    assert "".join(written) == "out\nput"
    assert tap.outputs() == "x=1\n"


def test_the_tap_passes_everything_through_without_a_marker():
    written = []
    tap = OutputsTap(written.append, "MARK")
    for piece in ("a\nMA", "RX\n", "\nMA"):
        tap(piece)
    tap.close()
    assert "".join(written) == "a\nMARX\n\nMA"
    assert not tap.found


def test_a_secret_written_to_the_outputs_file_is_masked_in_the_values(cast, make_runbook, docker_engine):
    secret = "s3cr3t-value-for-outputs"
    credential = credential_create(user=cast.owner, name="token", kind="token", secret=secret)
    script = 'echo "leak=before $(cat "$RB_SECRET_TOKEN_FILE") after" >> "$RB_OUTPUTS_FILE"'
    execution = run_blocks(cast, make_runbook, [command("leak", script, credentials=[credential.pk])])
    step = execution.steps.get()
    assert execution.status == "succeeded", execution.error
    assert step.result["values"] == {"leak": "before *** after"}


def test_values_reach_a_later_api_call_template(cast, make_runbook, docker_engine, settings):
    paths = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            paths.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.RUNBOOKS_HTTP_ALLOWLIST = ["127.0.0.1/32"]
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/scale/{{{{ steps.publish.result.values.target }}}}"
        execution = run_blocks(
            cast,
            make_runbook,
            [
                command("publish", 'echo "target=eu west/2" >> "$RB_OUTPUTS_FILE"'),
                {"key": "call", "kind": "api_call", "config": {"method": "GET", "url": url, "expected_status": [204]}},
            ],
        )
    finally:
        server.shutdown()
        server.server_close()
    assert execution.status == "succeeded", execution.error
    # URL-quoted in the URL: the space and the slash cannot change the path's shape.
    assert paths == ["/scale/eu%20west%2F2"]
