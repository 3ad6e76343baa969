"""`POST /hooks/<uuid>/`: authentication, payload kinds, mapping, dedup and what is recorded.

Real PostgreSQL and Redis; runs are queued (not walked) — what a trigger decides ends at the queue.
"""

import time

import pytest
from django.test import Client
from django.urls import reverse

from apps.automation import deliveries
from apps.automation.models import Delivery, Proposal, Trigger
from apps.automation.services import trigger_create, trigger_delete
from apps.credentials.services import credential_create
from apps.executions.models import Execution
from apps.executions.queue import redis_connection, redis_key
from apps.runbooks.services.access import runbook_grant
from tests.support.executions import command
from tests.support.payloads import alert, alertmanager_payload, body_of, pagerduty_payload, sign

PARAMETERS = [
    {"name": "instance", "label": "Instance", "required": True},
    {"name": "summary", "label": "Summary"},
    {"name": "severity", "label": "Severity", "choices": ["page", "ticket"], "default": "ticket"},
]


@pytest.fixture(autouse=True)
def fresh_rate_windows():
    """Trigger ids start over with each test database while Redis keeps a window's count for two
    minutes, so a second run of this file within them would begin over the limit: each test starts at 0."""
    connection = redis_connection()
    for key in connection.scan_iter(redis_key("hook-rate", "*")):
        connection.delete(key)


@pytest.fixture
def runbook(cast, make_runbook):
    return make_runbook(cast.owner, [command("check", "echo $instance")], parameters=PARAMETERS)


@pytest.fixture
def make_trigger(cast, runbook):
    def make(**data):
        data = {
            "name": "latency",
            "kind": "alertmanager",
            "params": {"instance": "alert.labels.instance", "summary": "commonAnnotations.summary"},
            **data,
        }
        return trigger_create(runbook=runbook, user=cast.editor, data=data)

    return make


def deliver(trigger: Trigger, body: bytes, **headers):
    return Client().post(
        reverse("automation:hook", args=[trigger.uuid]), data=body, content_type="application/json", **headers
    )


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_it_starts_one_run_per_firing_alert_with_params_from_labels(cast, make_trigger):
    trigger, secret = make_trigger()
    payload = alertmanager_payload(alert("db-1:9100"), alert("db-2:9100"), alert("db-3:9100", status="resolved"))
    response = deliver(trigger, body_of(payload), **bearer(secret))
    assert response.status_code == 202, response.content
    refs = response.json()["executions"]
    assert len(refs) == 2
    runs = Execution.objects.filter(pk__in=[ref["id"] for ref in refs]).order_by("pk")
    assert [run.params["instance"] for run in runs] == ["db-1:9100", "db-2:9100"]
    assert {run.params["summary"] for run in runs} == {"p95 latency above 2 s"}
    for run, ref in zip(runs, refs, strict=True):
        assert run.trigger_id == trigger.pk and run.triggered_by_id is None
        assert ref["url"] == f"http://testserver/executions/{run.pk}/"
    delivery = Delivery.objects.get(trigger=trigger)
    assert delivery.outcome == "started" and sorted(delivery.executions) == sorted(ref["id"] for ref in refs)
    assert delivery.source == "127.0.0.1"


def test_the_same_delivery_again_starts_nothing_and_answers_the_first_ids(make_trigger):
    trigger, secret = make_trigger()
    body = body_of(alertmanager_payload(alert("db-1:9100"), alert("db-2:9100")))
    first = deliver(trigger, body, **bearer(secret)).json()["executions"]
    again = deliver(trigger, body, **bearer(secret))
    assert again.status_code == 202
    assert [ref["id"] for ref in again.json()["executions"]] == [ref["id"] for ref in first]
    assert Execution.objects.count() == 2
    assert Delivery.objects.filter(trigger=trigger).first().outcome == "deduplicated"


def test_outside_the_window_the_same_alert_starts_again(make_trigger):
    trigger, secret = make_trigger(dedup_seconds=0)
    body = body_of(alertmanager_payload(alert("db-1:9100")))
    deliver(trigger, body, **bearer(secret))
    deliver(trigger, body, **bearer(secret))
    assert Execution.objects.count() == 2


def test_one_run_per_group_when_asked(make_trigger):
    trigger, secret = make_trigger(per="group")
    response = deliver(trigger, body_of(alertmanager_payload(alert("db-1:9100"), alert("db-2:9100"))), **bearer(secret))
    assert len(response.json()["executions"]) == 1
    assert Execution.objects.get().params["instance"] == "db-1:9100"


def test_resolved_only_payloads_start_nothing(make_trigger):
    trigger, secret = make_trigger()
    response = deliver(trigger, body_of(alertmanager_payload(alert("db-1", status="resolved"))), **bearer(secret))
    assert response.status_code == 202 and response.json()["executions"] == []
    assert Execution.objects.count() == 0
    assert Delivery.objects.get().outcome == "ignored"


@pytest.mark.parametrize("case", ["unknown", "disabled", "wrong secret", "no auth", "malformed id", "deleted"])
def test_it_answers_the_same_401_whatever_is_wrong_and_records_nothing(cast, make_trigger, case):
    trigger, secret = make_trigger()
    body = body_of(alertmanager_payload(alert("db-1")))
    headers = bearer(secret)
    url = reverse("automation:hook", args=[trigger.uuid])
    if case == "unknown":
        url = reverse("automation:hook", args=["6f1c3c1e-0000-4000-8000-000000000000"])
    elif case == "disabled":
        Trigger.objects.filter(pk=trigger.pk).update(enabled=False)
    elif case == "wrong secret":
        headers = bearer(secret + "x")
    elif case == "no auth":
        headers = {}
    elif case == "malformed id":
        url = "/hooks/not-a-uuid/"
    elif case == "deleted":
        trigger_delete(trigger=trigger, user=cast.editor)
    response = Client().post(url, data=body, content_type="application/json", **headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Unknown trigger or bad credentials."}
    assert Execution.objects.count() == 0 and Delivery.objects.count() == 0


def test_a_pagerduty_signature_starts_a_run_and_a_wrong_one_is_refused(cast, runbook, make_trigger):
    trigger, secret = make_trigger(kind="pagerduty", params={"instance": "event.data.service.summary"})
    body = body_of(pagerduty_payload())
    wrong = deliver(trigger, body, HTTP_X_PAGERDUTY_SIGNATURE=f"v1={sign(secret + 'x', body)}")
    assert wrong.status_code == 401
    good = deliver(trigger, body, HTTP_X_PAGERDUTY_SIGNATURE=f"v1={sign(secret, body)}")
    assert good.status_code == 202, good.content
    assert Execution.objects.get().params["instance"] == "payments-api"


def test_during_a_pagerduty_rotation_either_signature_is_valid(make_trigger):
    trigger, secret = make_trigger(kind="pagerduty", params={"instance": "event.data.title"}, dedup_seconds=0)
    for position, event_id in enumerate(["E1", "E2"]):
        body = body_of(pagerduty_payload(event_id=event_id))
        pair = [f"v1={sign('the-old-secret', body)}", f"v1={sign(secret, body)}"]
        header = ",".join(pair if position == 0 else reversed(pair))
        assert deliver(trigger, body, HTTP_X_PAGERDUTY_SIGNATURE=header).status_code == 202
    assert Execution.objects.count() == 2


def test_pagerduty_events_other_than_triggered_are_ignored_and_event_id_dedups(make_trigger):
    trigger, secret = make_trigger(kind="pagerduty", params={"instance": "event.data.title"})
    acknowledged = pagerduty_payload(event_id="A1")
    acknowledged["event"]["event_type"] = "incident.acknowledged"
    assert deliver(trigger, body_of(acknowledged), **bearer(secret)).json()["executions"] == []
    first = deliver(trigger, body_of(pagerduty_payload(event_id="T1")), **bearer(secret)).json()["executions"]
    second = deliver(trigger, body_of(pagerduty_payload(event_id="T1")), **bearer(secret)).json()["executions"]
    assert first == second and Execution.objects.count() == 1


def test_grafana_timestamp_signing_is_checked_and_stale_stamps_refused(make_trigger):
    trigger, secret = make_trigger(kind="grafana")
    payload = alertmanager_payload(alert("web-1")) | {"version": "1", "orgId": 1, "title": "[FIRING:1]"}
    body = body_of(payload)
    stamp = str(int(time.time()))
    headers = {
        "HTTP_X_GRAFANA_ALERTING_SIGNATURE": sign(secret, stamp.encode() + b":" + body),
        "HTTP_X_GRAFANA_ALERTING_SIGNATURE_TIMESTAMP": stamp,
    }
    assert deliver(trigger, body, **headers).status_code == 202
    old = str(int(time.time()) - 3600)
    stale = {
        "HTTP_X_GRAFANA_ALERTING_SIGNATURE": sign(secret, old.encode() + b":" + body),
        "HTTP_X_GRAFANA_ALERTING_SIGNATURE_TIMESTAMP": old,
    }
    assert deliver(trigger, body, **stale).status_code == 401
    # Without a timestamp header Grafana signs the body alone.
    unstamped = {"HTTP_X_GRAFANA_ALERTING_SIGNATURE": sign(secret, body)}
    assert deliver(trigger, body_of(payload | {"groupKey": "other"}), **unstamped).status_code == 401
    assert deliver(trigger, body_of(payload | {"groupKey": "other"}), HTTP_X_GRAFANA_ALERTING_SIGNATURE=sign(
        secret, body_of(payload | {"groupKey": "other"}))).status_code == 202  # fmt: skip
    assert Execution.objects.count() == 2


def test_a_generic_signature_and_a_mapped_dedup_field(make_trigger):
    trigger, secret = make_trigger(
        kind="generic", params={"instance": "host", "severity": "=page"}, dedup_path="incident"
    )
    body = body_of({"host": "cache-7", "incident": "INC-1"})
    response = deliver(trigger, body, HTTP_X_RUNBOOKS_SIGNATURE=f"sha256={sign(secret, body)}")
    assert response.status_code == 202
    assert Execution.objects.get().params == {"instance": "cache-7", "summary": "", "severity": "page"}
    again = deliver(trigger, body_of({"host": "cache-8", "incident": "INC-1"}), **bearer(secret))
    assert again.json()["executions"] == response.json()["executions"]


def test_a_required_parameter_the_payload_cannot_fill_is_a_422_naming_it(make_trigger):
    trigger, secret = make_trigger(params={"instance": "alert.labels.nothing_here"})
    response = deliver(trigger, body_of(alertmanager_payload(alert("db-1"))), **bearer(secret))
    assert response.status_code == 422
    assert "instance" in response.json()["detail"] and "instance" in response.json()["params"]
    assert Execution.objects.count() == 0
    delivery = Delivery.objects.get()
    assert delivery.outcome == "refused" and delivery.status_code == 422 and "instance" in delivery.reason


def test_a_value_outside_the_choices_is_refused_like_a_persons(make_trigger):
    trigger, secret = make_trigger(params={"instance": "alert.labels.instance", "severity": "=critical"})
    response = deliver(trigger, body_of(alertmanager_payload(alert("db-1"))), **bearer(secret))
    assert response.status_code == 422 and "severity" in response.json()["params"]


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 400), (b"\xff\xfe", 400), (b"[1, 2]", 400), (b'{"alerts": "x"}', 400), (b'{"a": "\\u0000"}', 400)],
)
def test_bad_bodies_are_4xx_with_nothing_started(make_trigger, body, status):
    trigger, secret = make_trigger()
    response = deliver(trigger, body, **bearer(secret))
    assert response.status_code == status, response.content
    assert Execution.objects.count() == 0


def test_a_huge_body_is_413_before_anything_is_read_whole(settings, make_trigger):
    trigger, secret = make_trigger()
    body = b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    assert deliver(trigger, body, **bearer(secret)).status_code == 413
    assert Execution.objects.count() == 0


def test_it_stops_working_when_its_creator_loses_the_runner_role(cast, runbook, make_trigger):
    trigger, secret = make_trigger()
    runbook_grant(runbook=runbook, actor=cast.owner, principal=cast.editor, role="viewer")
    response = deliver(trigger, body_of(alertmanager_payload(alert("db-1"))), **bearer(secret))
    assert response.status_code == 403
    assert Execution.objects.count() == 0
    assert Delivery.objects.get().outcome == "refused"


def test_a_rate_limit_per_trigger_answers_429(settings, make_trigger, monkeypatch):
    trigger, secret = make_trigger(dedup_seconds=3600)
    monkeypatch.setattr(deliveries, "RATE_PER_MINUTE", 2)
    body = body_of(alertmanager_payload(alert("db-1")))
    statuses = [deliver(trigger, body, **bearer(secret)).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]


def test_stored_payloads_mask_credential_secrets_and_the_trigger_secret(cast, make_trigger):
    credential_create(user=cast.owner, name="db-password", kind="secret", secret="hunter2-very-secret")
    trigger, secret = make_trigger(kind="generic", params={"instance": "host"})
    body = body_of({"host": "db-1", "note": f"password hunter2-very-secret token {secret}"})
    deliver(trigger, body, **bearer(secret))
    stored = Delivery.objects.get().payload
    assert "db-1" in stored
    assert "hunter2-very-secret" not in stored and secret not in stored


def test_a_proposal_waits_for_a_runner_who_starts_it(cast, make_trigger):
    trigger, secret = make_trigger(action="propose")
    response = deliver(trigger, body_of(alertmanager_payload(alert("db-9"))), **bearer(secret))
    assert response.status_code == 202
    assert response.json()["executions"] == []
    proposal = Proposal.objects.get(pk=response.json()["proposals"][0]["id"])
    assert proposal.status == "waiting" and proposal.params["instance"] == "db-9"
    assert Execution.objects.count() == 0
    viewer = Client()
    viewer.force_login(cast.viewer)
    assert viewer.post(reverse("automation:proposal_start", args=[proposal.pk])).status_code == 403
    runner = Client()
    runner.force_login(cast.runner)
    page = runner.get(reverse("automation:proposal", args=[proposal.pk]))
    assert b">Start</button>" in page.content
    started = runner.post(reverse("automation:proposal_start", args=[proposal.pk]))
    execution = Execution.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/executions/{execution.pk}/"
    assert execution.triggered_by == cast.runner and execution.params["instance"] == "db-9"
    assert runner.post(reverse("automation:proposal_start", args=[proposal.pk])).status_code == 302
    assert Execution.objects.count() == 1


def test_the_execution_shape_says_which_trigger_started_the_run(cast, api_for, make_trigger):
    trigger, secret = make_trigger()
    ref = deliver(trigger, body_of(alertmanager_payload(alert("db-1"))), **bearer(secret)).json()["executions"][0]
    shown = api_for(cast.viewer).get(f"/api/v1/executions/{ref['id']}/").json()
    assert shown["triggered_by"] is None
    assert shown["trigger"] == {"kind": "alertmanager", "id": trigger.pk, "name": "latency"}
    assert shown["schedule"] is None
    listed = api_for(cast.viewer).get("/api/v1/executions/").json()["results"][0]
    assert listed["trigger"]["name"] == "latency"


def test_history_says_started_by_trigger_and_its_name(cast, make_trigger):
    trigger, secret = make_trigger()
    ref = deliver(trigger, body_of(alertmanager_payload(alert("db-1"))), **bearer(secret)).json()["executions"][0]
    page = Client()
    page.force_login(cast.viewer)
    assert "trigger latency" in page.get(reverse("executions:detail", args=[ref["id"]])).content.decode()
    assert "trigger latency" in page.get(reverse("executions:list")).content.decode()
