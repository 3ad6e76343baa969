"""Issue 16's acceptance against a real daphne and worker (subprocesses), PostgreSQL, Redis and Docker:
webhooks posted over HTTP to `/hooks/<uuid>/` start runs that the worker really runs, with parameters
from the payload; a repeated delivery starts nothing and answers the first ids; PagerDuty and Grafana
signatures are checked as their senders make them; a proposed run is started by a runner from its page.
"""

import json
import os
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis
from django.conf import settings
from django.urls import reverse

from apps.automation.models import Proposal
from apps.automation.services import trigger_create
from apps.executions.models import Execution
from tests.support.executions import command, output_of
from tests.support.live_stack import Stack
from tests.support.payloads import alert, alertmanager_payload, body_of, pagerduty_payload, sign

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

PARAMETERS = [
    {"name": "instance", "label": "Instance", "required": True},
    {"name": "severity", "label": "Severity", "choices": ["page", "ticket"], "default": "ticket"},
]
# Own Redis database per xdist worker (gw0 → 7, gw1 → 6): the stack's queue must be its own.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, django_db_setup, django_db_blocker) -> Stack:
    url = urlunsplit(urlsplit(settings.REDIS_URL)._replace(path=f"/{7 - _WORKER}"))
    with django_db_blocker.unblock():
        return Stack(tmp_path_factory.mktemp("hooks"), name="hooks", redis_url=url)


@pytest.fixture
def stack(prepared, docker_engine):
    redis.Redis.from_url(prepared.env["REDIS_URL"], socket_connect_timeout=2).flushdb()
    prepared.use_new_port()
    prepared.start()
    yield prepared
    prepared.stop()


@pytest.fixture
def runbook(cast, make_runbook):
    return make_runbook(
        cast.owner, [command("check", 'echo "checking $RB_PARAM_INSTANCE ($RB_PARAM_SEVERITY)"')],
        parameters=PARAMETERS,
    )  # fmt: skip


def post(stack, trigger, body: bytes, **headers) -> httpx.Response:
    return httpx.post(
        f"{stack.url}/hooks/{trigger.uuid}/", content=body, headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )  # fmt: skip


def finished(ids: list[int], timeout: float = 120) -> list[Execution]:
    """The executions once the stack's worker has finished every one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list(Execution.objects.filter(pk__in=ids).order_by("pk"))
        if len(runs) == len(ids) and all(run.finished_at for run in runs):
            return runs
        time.sleep(0.2)  # the worker is another process writing the database: nothing to await
    pytest.fail(f"runs {ids} did not finish: {[(run.pk, run.status) for run in runs]}")


def output(execution: Execution) -> str:
    return output_of(execution.steps.get(block_key="check")).strip()


def test_two_firing_alerts_run_twice_with_their_labels_and_the_same_delivery_again_starts_nothing(cast, runbook, stack):
    trigger, secret = trigger_create(
        runbook=runbook, user=cast.editor,
        data={"name": "latency", "kind": "alertmanager", "params": {"instance": "alert.labels.instance",
                                                                     "severity": "alert.labels.severity"}},
    )  # fmt: skip
    body = body_of(alertmanager_payload(alert("db-1:9100"), alert("db-2:9100")))
    answer = post(stack, trigger, body, Authorization=f"Bearer {secret}")
    assert answer.status_code == 202, answer.text
    refs = answer.json()["executions"]
    assert len(refs) == 2 and all(ref["url"].endswith(f"/executions/{ref['id']}/") for ref in refs)
    runs = finished([ref["id"] for ref in refs])
    assert [run.status for run in runs] == ["succeeded", "succeeded"]
    assert sorted(output(run) for run in runs) == ["checking db-1:9100 (page)", "checking db-2:9100 (page)"]
    assert all(run.trigger_id == trigger.pk and run.triggered_by_id is None for run in runs)

    again = post(stack, trigger, body, Authorization=f"Bearer {secret}")
    assert again.status_code == 202, again.text
    assert sorted(ref["id"] for ref in again.json()["executions"]) == sorted(ref["id"] for ref in refs)
    assert Execution.objects.count() == 2


def test_pagerduty_signatures_as_pagerduty_sends_them_including_a_rotated_pair(cast, runbook, stack):
    trigger, secret = trigger_create(
        runbook=runbook, user=cast.editor,
        data={"name": "pd", "kind": "pagerduty", "params": {"instance": "event.data.service.summary"}},
    )  # fmt: skip
    body = body_of(pagerduty_payload(event_id="E1"))
    wrong = post(stack, trigger, body, **{"X-PagerDuty-Signature": f"v1={sign(secret + 'x', body)}"})
    assert wrong.status_code == 401 and Execution.objects.count() == 0

    good = post(stack, trigger, body, **{"X-PagerDuty-Signature": f"v1={sign(secret, body)}"})
    assert good.status_code == 202, good.text
    (run,) = finished([good.json()["executions"][0]["id"]])
    assert run.status == "succeeded" and output(run) == "checking payments-api (ticket)"

    rotated = body_of(pagerduty_payload(event_id="E2"))
    pair = f"v1={sign('the-old-secret', rotated)},v1={sign(secret, rotated)}"
    during_rotation = post(stack, trigger, rotated, **{"X-PagerDuty-Signature": pair})
    assert during_rotation.status_code == 202, during_rotation.text
    assert finished([during_rotation.json()["executions"][0]["id"]])[0].status == "succeeded"


def test_a_grafana_delivery_signed_with_its_timestamp_runs(cast, runbook, stack):
    trigger, secret = trigger_create(
        runbook=runbook, user=cast.editor,
        data={"name": "grafana", "kind": "grafana", "params": {"instance": "alert.labels.instance"}},
    )  # fmt: skip
    payload = {**alertmanager_payload(alert("web-3:443")), "version": "1", "orgId": 1}
    body = body_of(payload)
    stamp = str(int(time.time()))
    signed = {
        "X-Grafana-Alerting-Signature": sign(secret, stamp.encode() + b":" + body),
        "X-Grafana-Alerting-Signature-Timestamp": stamp,
    }
    forged = post(stack, trigger, body, **{**signed, "X-Grafana-Alerting-Signature-Timestamp": str(int(stamp) - 1)})
    assert forged.status_code == 401 and Execution.objects.count() == 0
    answer = post(stack, trigger, body, **signed)
    assert answer.status_code == 202, answer.text
    (run,) = finished([answer.json()["executions"][0]["id"]])
    assert run.status == "succeeded" and output(run) == "checking web-3:443 (ticket)"


def test_a_proposed_run_waits_until_a_runner_starts_it_from_its_page(cast, runbook, stack, client_for):
    trigger, secret = trigger_create(
        runbook=runbook, user=cast.editor,
        data={"name": "propose", "kind": "generic", "action": "propose",
              "params": {"instance": "host", "severity": "=page"}},
    )  # fmt: skip
    answer = post(stack, trigger, json.dumps({"host": f"cache-{uuid.uuid4().hex[:4]}"}).encode(),
                  Authorization=f"Bearer {secret}")  # fmt: skip
    assert answer.status_code == 202, answer.text
    assert answer.json()["executions"] == []
    proposal = Proposal.objects.get(pk=answer.json()["proposals"][0]["id"])
    assert Execution.objects.count() == 0

    runner = client_for(cast.runner)
    page = runner.get(reverse("automation:proposal", args=[proposal.pk]))
    assert page.status_code == 200 and proposal.params["instance"] in page.content.decode()
    started = runner.post(reverse("automation:proposal_start", args=[proposal.pk]))
    assert started.status_code == 302, started.content[:300]
    (run,) = finished(list(Execution.objects.values_list("pk", flat=True)))
    assert run.triggered_by == cast.runner and run.status == "succeeded"
    assert output(run) == f"checking {proposal.params['instance']} (page)"
