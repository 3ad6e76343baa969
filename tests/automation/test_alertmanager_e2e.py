"""End to end with a real sender: Debian's prometheus-alertmanager delivers a webhook (v4 payload, the
trigger's secret in http_config.authorization) to a live server, and the run it starts carries the
alert's labels as parameters. In CI (or with RUNBOOKS_REQUIRE_ALERTMANAGER=1) a missing binary fails."""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from apps.automation.services import trigger_create
from apps.executions.models import Execution

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
PARAMETERS = [
    {"name": "instance", "label": "Instance", "required": True},
    {"name": "severity", "label": "Severity", "required": True, "choices": ["page", "ticket"]},
]


@pytest.fixture
def alertmanager_binary():
    if BINARY:
        return BINARY
    if os.environ.get("RUNBOOKS_REQUIRE_ALERTMANAGER") == "1" or os.environ.get("CI") == "true":
        pytest.fail("prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)")
    pytest.skip("prometheus-alertmanager is not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)  # polling a process and a database: neither can notify this test


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def alertmanager(alertmanager_binary, tmp_path):
    processes = []

    def start(*, hook_url: str, secret: str) -> str:
        port = free_port()
        config = {
            "route": {"receiver": "runbooks", "group_by": ["alertname"], "group_wait": "1s",
                      "group_interval": "1s", "repeat_interval": "1h"},
            "receivers": [{"name": "runbooks", "webhook_configs": [{
                "url": hook_url, "send_resolved": False,
                "http_config": {"authorization": {"type": "Bearer", "credentials": secret}},
            }]}],
        }  # fmt: skip
        (tmp_path / "am.yml").write_text(json.dumps(config))  # YAML is a superset of JSON
        log = open(tmp_path / "am.log", "wb")  # noqa: SIM115 - kept open for the process's lifetime
        process = subprocess.Popen(
            [alertmanager_binary, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        processes.append((process, log))
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{base}/-/ready") or process.poll() is not None, 30, "alertmanager to start")
        assert process.poll() is None, (tmp_path / "am.log").read_text()
        return base

    yield start
    for process, log in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_an_alert_fired_through_alertmanager_starts_a_run_with_its_labels(
    transactional_db, cast, make_runbook, live_server, alertmanager, tmp_path
):
    runbook = make_runbook(cast.owner, [{"key": "look", "kind": "instruction", "config": {"markdown": "Look."}}],
                           parameters=PARAMETERS)  # fmt: skip
    trigger, secret = trigger_create(runbook=runbook, user=cast.editor, data={
        "name": "alertmanager", "kind": "alertmanager",
        "params": {"instance": "alert.labels.instance", "severity": "alert.labels.severity"},
    })  # fmt: skip
    base = alertmanager(hook_url=f"{live_server.url}/hooks/{trigger.uuid}/", secret=secret)

    alert = [{"labels": {"alertname": "HighLatency", "instance": "db-7:9100", "severity": "page"},
              "annotations": {"summary": "p95 above 2 s"}}]  # fmt: skip
    request = urllib.request.Request(f"{base}/api/v2/alerts", data=json.dumps(alert).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200

    execution = wait_until(lambda: Execution.objects.filter(trigger=trigger).first(), 30, "the webhook's run")
    assert execution.params == {"instance": "db-7:9100", "severity": "page"}
    assert execution.triggered_by is None and execution.runbook_id == runbook.pk
    # The delivery is recorded just after the run starts, in the same request.
    delivery = wait_until(lambda: trigger.deliveries.first(), 10, "the delivery record")
    assert delivery.outcome == "started" and delivery.executions == [execution.pk]
    # What Alertmanager sent is what it is documented to send: a version 4 payload, the secret masked.
    assert json.loads(delivery.payload)["version"] == "4" and secret not in delivery.payload
