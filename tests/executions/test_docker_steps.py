"""Command steps in real containers: hardening seen by `docker inspect`, probes from inside a step,
limits, timeouts, output order, params, secrets and masking. They need the Docker engine
(RUNBOOKS_REQUIRE_DOCKER=1 turns a missing engine into a failure) and the local busybox image."""

import base64
import json
import threading
import time
from urllib.parse import quote

import pytest
from django.db import connection

from apps.credentials.services import credential_create
from apps.environments.models import ExecutionEnvironment
from apps.executions.models import OutputChunk
from apps.executions.services.cancel import execution_cancel
from apps.executions.services.start import execution_start
from apps.sandbox.labels import INSTANCE_LABEL, instance_id
from tests.support.executions import command, output_of, run_now

SECRET = "tok-7d1e9b3a-payments"
LABEL = "runbooks.execution"


def this_run(execution_id) -> list[str]:
    # Execution ids repeat across test databases (xdist workers) sharing one engine: add the instance.
    return [f"{LABEL}={execution_id}", f"{INSTANCE_LABEL}={instance_id()}"]


def containers_of(docker_engine, execution_id) -> list:
    return docker_engine.containers.list(all=True, filters={"label": this_run(execution_id)})


class ContainerCapture(threading.Thread):
    """Captures `docker inspect` of the first step container while it runs (Docker only, no database)."""

    def __init__(self, docker_engine, execution):
        super().__init__(daemon=True)
        self.docker_engine = docker_engine
        # This run's label value: other runs may have containers on the same engine meanwhile.
        self.label = this_run(execution.pk)
        self.attrs = None
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set() and self.attrs is None:
            for container in self.docker_engine.containers.list(filters={"label": self.label}):
                self.attrs = container.attrs
                return
            time.sleep(0.05)


def test_every_hardening_setting_is_applied(cast, make_runbook, docker_engine):
    runbook = make_runbook(cast.owner, [command("slow", "sleep 2; echo done")])
    execution = execution_start(runbook=runbook, user=cast.runner)
    capture = ContainerCapture(docker_engine, execution)
    capture.start()
    run_now(execution)
    capture.stop.set()
    capture.join()
    assert execution.status == "succeeded", execution.error
    assert capture.attrs is not None, "no step container was seen running"
    host = capture.attrs["HostConfig"]
    config = capture.attrs["Config"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["Tmpfs"] == {
        "/tmp": "rw,nosuid,nodev,size=64m",
        "/run/secrets": "rw,nosuid,nodev,size=1m,mode=0700,uid=65534,gid=65534",
    }
    assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["PidsLimit"] == 64
    assert host["Memory"] == 64 * 1024 * 1024 and host["MemorySwap"] == 64 * 1024 * 1024
    assert host["NanoCpus"] == 1_000_000_000
    assert host["Privileged"] is False and host["AutoRemove"] is False
    assert not host.get("Binds") and not capture.attrs.get("Mounts")
    assert config["User"] == "65534:65534"
    assert config["Labels"] == {LABEL: str(execution.pk), "runbooks.step": "slow", INSTANCE_LABEL: instance_id()}
    # The script never shows on the command line: only the fixed bootstrap does.
    assert "sleep 2" not in " ".join(config["Cmd"] or [])
    # Nor do the step's variables show in the configuration: they arrive on stdin with the script.
    assert not any(variable.startswith("RB_") for variable in config.get("Env") or [])
    assert not containers_of(docker_engine, execution.pk)


def test_a_bridge_environment_gets_the_bridge_network(cast, make_runbook, environment, docker_engine):
    ExecutionEnvironment.objects.filter(pk=environment.pk).update(network="bridge")
    runbook = make_runbook(cast.owner, [command("slow", "sleep 1")])
    execution = execution_start(runbook=runbook, user=cast.runner)
    capture = ContainerCapture(docker_engine, execution)
    capture.start()
    run_now(execution)
    capture.join(timeout=5)
    assert capture.attrs["HostConfig"]["NetworkMode"] == "bridge"


@pytest.mark.parametrize(
    "probe",
    [
        "wget -T 2 -q -O /dev/null http://169.254.169.254/",
        "wget -T 2 -q -O /dev/null http://1.1.1.1/",
        "touch /etc/x",
        'test "$(id -u)" -eq 0',
    ],
)
def test_probes_from_inside_a_step_are_refused(run_script, probe):
    _, step = run_script(f"if {probe}; then echo ALLOWED; else echo REFUSED; fi")
    assert output_of(step).splitlines()[-1] == "REFUSED", output_of(step)


def test_a_fork_bomb_is_stopped_by_the_pids_limit(cast, make_runbook, environment, docker_engine):
    ExecutionEnvironment.objects.filter(pk=environment.pk).update(pids_limit=16)
    # echo is a builtin: it still reports how far the bomb got once no fork is left.
    script = "i=0; while [ $i -lt 60 ]; do sleep 30 & i=$((i+1)); echo forked=$i; done; echo all-forked"
    runbook = make_runbook(cast.owner, [command("bomb", script)])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    output = output_of(execution.steps.get())
    assert "can't fork" in output
    forked = [int(line.removeprefix("forked=")) for line in output.splitlines() if line.startswith("forked=")]
    assert max(forked) < 16 and "all-forked" not in output
    assert execution.steps.get().status == "failed"
    assert not containers_of(docker_engine, execution.pk)


def test_a_memory_hog_ends_failed_out_of_memory(cast, make_runbook, environment, docker_engine):
    ExecutionEnvironment.objects.filter(pk=environment.pk).update(memory_mb=32)
    # tail keeps the whole (newline-free) input in memory: far past the 32 MiB limit.
    runbook = make_runbook(cast.owner, [command("hog", "head -c 300m /dev/zero | tail")])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    step = execution.steps.get()
    assert (execution.status, step.status) == ("failed", "failed")
    assert step.error == "Out of memory (limit 32 MiB)"


def test_a_step_past_its_timeout_is_killed_and_timed_out(cast, make_runbook, docker_engine):
    runbook = make_runbook(cast.owner, [command("slow", "sleep 100", timeout_seconds=2), command("after", "true")])
    started = time.monotonic()
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    assert time.monotonic() - started < 15
    step = execution.steps.get(block_key="slow")
    assert (execution.status, step.status) == ("timed_out", "timed_out")
    assert "Timed out after 2 s" in step.error
    assert execution.steps.get(block_key="after").status == "skipped"
    assert not containers_of(docker_engine, execution.pk)


def test_the_environment_timeout_caps_the_block_timeout(cast, make_runbook, environment, docker_engine):
    ExecutionEnvironment.objects.filter(pk=environment.pk).update(timeout_seconds=1)
    runbook = make_runbook(cast.owner, [command("slow", "sleep 100", timeout_seconds=300)])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    assert execution.steps.get().error == "Timed out after 1 s; the container was killed."


def test_stdout_and_stderr_keep_their_order(run_script):
    _, step = run_script("for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done")
    assert output_of(step) == "".join(f"out{i}\nerr{i}\n" for i in range(1, 6))


def test_the_exit_code_decides(run_script):
    execution, step = run_script("echo fine; exit 0")
    assert (execution.status, step.status, step.exit_code) == ("succeeded", "succeeded", 0)


def test_params_arrive_as_rb_param_variables(cast, make_runbook, docker_engine):
    parameters = [{"name": "region", "label": "Region", "default": "eu", "required": True, "choices": None}]
    runbook = make_runbook(cast.owner, [command("show", 'echo "region=$RB_PARAM_REGION"')], parameters=parameters)
    execution = run_now(execution_start(runbook=runbook, user=cast.runner, params={"region": "us-east 1; rm -rf /"}))
    assert output_of(execution.steps.get()) == "region=us-east 1; rm -rf /\n"


def test_awkward_param_values_arrive_byte_for_byte(cast, make_runbook, docker_engine):
    value = 'it\'s "quoted" $(id) `id` ${HOME}\nsecond line ✓'
    parameters = [{"name": "note", "label": "Note", "default": "", "required": True, "choices": None}]
    runbook = make_runbook(cast.owner, [command("show", 'printf "%s" "$RB_PARAM_NOTE"')], parameters=parameters)
    execution = run_now(execution_start(runbook=runbook, user=cast.runner, params={"note": value}))
    assert execution.status == "succeeded", execution.error
    assert output_of(execution.steps.get()) == value


@pytest.fixture
def credential(cast):
    return credential_create(user=cast.owner, name="payments-api", kind="token", secret=SECRET)


def test_a_credential_is_a_0400_file_named_by_an_env_var_and_masked(cast, make_runbook, credential, docker_engine):
    script = (
        'echo "file=$RB_SECRET_PAYMENTS_API_FILE"; stat -c "mode=%a" "$RB_SECRET_PAYMENTS_API_FILE"; '
        'echo "raw=$(cat "$RB_SECRET_PAYMENTS_API_FILE")"; '
        # Byte by byte, so the secret reaches the output split across several writes.
        'cat "$RB_SECRET_PAYMENTS_API_FILE" | while read -n 1 c; do printf %s "$c"; done; echo; '
        'echo "b64=$(cat "$RB_SECRET_PAYMENTS_API_FILE" | base64)"'
    )
    runbook = make_runbook(cast.owner, [command("use", script, credentials=[credential.pk])])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    output = output_of(execution.steps.get())
    assert execution.status == "succeeded", (execution.error, output)
    lines = output.splitlines()
    assert lines[0] == "file=/run/secrets/payments-api"
    assert lines[1] == "mode=400"
    assert lines[2] == "raw=***"
    assert lines[3] == "***"
    assert "***" in lines[4]
    for data in OutputChunk.objects.values_list("data", flat=True):
        assert SECRET not in data
    # Every use of the credential is audited with the run and the block, never the value.
    from apps.audit.models import AuditEvent

    use = AuditEvent.objects.get(action="credential.use")
    assert use.detail == {"name": "payments-api", "execution": execution.pk, "block": "use"}


# Characters that every encoding spells its own way: URL-encoding and JSON escaping change them.
ENCODED_SECRET = 'p@ss/w0rd+"q"=42&z-payments'


def test_an_encoded_secret_echoed_by_a_command_step_never_reaches_the_stored_output(cast, make_runbook, docker_engine):
    credential = credential_create(user=cast.owner, name="encoded", kind="token", secret=ENCODED_SECRET)
    file = '"$RB_SECRET_ENCODED_FILE"'
    script = (
        f'echo "b64=$(base64 < {file})"; '
        # Behind one and two bytes: base64 spells the secret differently at each alignment.
        f'echo "b64+1=$({{ printf x; cat {file}; }} | base64)"; '
        f'echo "b64+2=$({{ printf xy; cat {file}; }} | base64)"; '
        f'echo "basic=$({{ printf ops:; cat {file}; }} | base64)"; '
        f"echo \"url=$(sed -e 's/%/%25/g' -e 's/@/%40/g' -e 's#/#%2F#g' -e 's/+/%2B/g' -e 's/\"/%22/g' "
        f"-e 's/=/%3D/g' -e 's/&/%26/g' {file})\"; "
        f'echo "json=$(sed -e \'s/"/\\\\"/g\' {file})"'
    )
    runbook = make_runbook(cast.owner, [command("encode", script, credentials=[credential.pk])])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    output = output_of(execution.steps.get())
    assert execution.status == "succeeded", (execution.error, output)
    data = ENCODED_SECRET.encode()
    spellings = {
        "b64": base64.b64encode(data).decode(),
        "b64+1": base64.b64encode(b"x" + data).decode(),
        "b64+2": base64.b64encode(b"xy" + data).decode(),
        "basic": base64.b64encode(b"ops:" + data).decode(),
        "url": quote(ENCODED_SECRET, safe=""),
        "json": json.dumps(ENCODED_SECRET)[1:-1],
    }
    lines = dict(line.split("=", 1) for line in output.splitlines())
    assert set(lines) == set(spellings), output
    stored = "".join(OutputChunk.objects.values_list("data", flat=True))
    for name, spelling in spellings.items():
        # The script really printed that spelling (what is left of it is not the secret's part) …
        assert "***" in lines[name], (name, lines[name])
        # … and not a stored chunk holds it.
        assert spelling not in stored, name


def test_output_past_the_cap_is_counted_not_stored_and_marked(run_script, settings):
    settings.RUNBOOKS_OUTPUT_CAP_BYTES = 1000
    execution, step = run_script("i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; echo end")
    assert execution.status == "succeeded"
    stored = output_of(step)
    assert len(stored.encode()) == 1000 and stored.startswith("line-0\n")
    assert step.output_truncated is True
    assert step.output_bytes == sum(len(f"line-{i}\n") for i in range(2000)) + len("end\n")


def test_docker_down_fails_the_step_with_a_clear_message(run_script, settings, tmp_path):
    # A real fault: a socket path nothing listens on.
    settings.DOCKER_HOST = f"unix://{tmp_path}/docker.sock"
    execution, step = run_script("echo hi")
    assert step.status == "failed"
    assert step.error == f"Docker engine not reachable at unix://{tmp_path}/docker.sock"
    assert execution.status == "failed" and "Traceback" not in execution.error


def test_a_missing_image_fails_the_step_with_its_name(cast, make_runbook, environment, docker_engine):
    ExecutionEnvironment.objects.filter(pk=environment.pk).update(image="runbooks-no-such-image:latest")
    runbook = make_runbook(cast.owner, [command("one", "true")])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    assert execution.steps.get().error == "Image runbooks-no-such-image:latest not found on the Docker engine"


@pytest.mark.django_db(transaction=True)
def test_cancel_kills_a_running_step_within_five_seconds(cast, make_runbook, docker_engine):
    runbook = make_runbook(cast.owner, [command("slow", "sleep 100"), command("after", "true")])
    execution = execution_start(runbook=runbook, user=cast.runner)
    canceller_done = threading.Event()
    timing = {}

    def cancel_when_running():
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not containers_of(docker_engine, execution.pk):
                time.sleep(0.1)
            time.sleep(0.5)
            timing["cancelled_at"] = time.monotonic()
            execution_cancel(execution=execution, user=cast.runner)
        finally:
            connection.close()
            canceller_done.set()

    threading.Thread(target=cancel_when_running, daemon=True).start()
    run_now(execution)
    ended = time.monotonic()
    canceller_done.wait(10)
    assert ended - timing["cancelled_at"] <= 5
    step = execution.steps.get(block_key="slow")
    assert (execution.status, step.status) == ("cancelled", "cancelled")
    assert execution.steps.get(block_key="after").status == "cancelled"
    assert not containers_of(docker_engine, execution.pk)
