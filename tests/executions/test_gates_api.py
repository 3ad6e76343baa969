"""POST /api/v1/executions/{id}/steps/{key}/confirm/ and /retry/: roles, defaults, bad input."""

import pytest

from apps.executions.models import Execution
from apps.executions.services.start import execution_start
from tests.support.executions import run_now

ROLES = ["owner", "editor", "runner", "viewer", "outsider", "staff", "admin", None]


def gate(key: str, kind: str) -> dict:
    return {"key": key, "kind": "instruction", "config": {"markdown": key, "gate": kind}}


@pytest.fixture
def waiting(cast, make_runbook):
    def make(kind: str = "confirm", starter=None):
        runbook = make_runbook(cast.owner, [gate("gate", kind), gate("after", "none")])
        return run_now(execution_start(runbook=runbook, user=starter or cast.runner))

    return make


def confirm_url(execution, key="gate") -> str:
    return f"/api/v1/executions/{execution.pk}/steps/{key}/confirm/"


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("owner", 200),
        ("editor", 200),
        ("runner", 200),
        ("viewer", 403),
        ("outsider", 404),
        ("staff", 404),
        ("admin", 200),
        (None, 401),
    ],
)
def test_confirm_answers_each_role(waiting, cast, api_for, role, expected):
    execution = waiting("confirm")
    response = api_for(getattr(cast, role) if role else None).post(confirm_url(execution), {}, format="json")
    assert response.status_code == expected, response.content
    step = execution.steps.get(block_key="gate")
    if expected == 200:
        body = response.json()
        assert body["id"] == execution.pk
        gate_step = next(item for item in body["steps"] if item["block"] == "gate")
        assert (gate_step["status"], gate_step["confirmed_by"], gate_step["result"]["decision"]) == (
            "succeeded",
            role,
            "continue",
        )
    else:
        assert step.status == "waiting"


def test_approval_defaults_to_approve_by_a_second_person(waiting, cast, api_for):
    execution = waiting("approval", cast.runner)
    response = api_for(cast.editor).post(confirm_url(execution), {}, format="json")
    assert response.status_code == 200
    assert execution.steps.get(block_key="gate").result["decision"] == "approve"


def test_the_starter_gets_403_with_the_reason(waiting, cast, api_for):
    execution = waiting("approval", cast.runner)
    response = api_for(cast.runner).post(confirm_url(execution), {"decision": "approve"}, format="json")
    assert response.status_code == 403
    assert "a runner other than you must approve" in response.json()["detail"]


def test_reject_answers_the_failed_execution(waiting, cast, api_for):
    execution = waiting("approval")
    response = api_for(cast.owner).post(confirm_url(execution), {"decision": "reject"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "failed"


def test_a_second_decision_is_409(waiting, cast, api_for):
    execution = waiting("confirm")
    assert api_for(cast.editor).post(confirm_url(execution), {}, format="json").status_code == 200
    response = api_for(cast.owner).post(confirm_url(execution), {"decision": "reject"}, format="json")
    assert response.status_code == 409
    assert "not waiting" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "yes"}, "decision"),
        ({"decision": 1}, "decision"),
        ({"decision": "continue", "extra": 1}, "extra"),
    ],
)
def test_bad_bodies_are_400_with_the_field(waiting, cast, api_for, body, field):
    execution = waiting("confirm")
    response = api_for(cast.runner).post(confirm_url(execution), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert execution.steps.get(block_key="gate").status == "waiting"


def test_an_unknown_step_is_404(waiting, cast, api_for):
    # The key is part of the URL, like an id: naming no step of the run is "not found".
    response = api_for(cast.runner).post(confirm_url(waiting("confirm"), "nope"), {}, format="json")
    assert response.status_code == 404


def test_retry_creates_a_new_execution_from_the_step(waiting, cast, api_for):
    execution = waiting("approval")
    api_for(cast.owner).post(confirm_url(execution), {"decision": "reject"}, format="json")
    response = api_for(cast.runner).post(f"/api/v1/executions/{execution.pk}/retry/", {"from": "gate"}, format="json")
    assert response.status_code == 201, response.content
    retry = Execution.objects.get(pk=response.json()["id"])
    assert retry.retry_of_id == execution.pk
    assert [step["status"] for step in response.json()["steps"]] == ["pending", "pending"]


@pytest.mark.parametrize(("role", "expected"), [("viewer", 403), ("outsider", 404), (None, 401)])
def test_retry_refuses_weak_roles(waiting, cast, api_for, role, expected):
    execution = waiting("approval")
    api_for(cast.owner).post(confirm_url(execution), {"decision": "reject"}, format="json")
    response = api_for(getattr(cast, role) if role else None).post(
        f"/api/v1/executions/{execution.pk}/retry/", {"from": "gate"}, format="json"
    )
    assert response.status_code == expected
    assert Execution.objects.count() == 1


def test_retry_without_from_is_400(waiting, cast, api_for):
    execution = waiting("approval")
    response = api_for(cast.runner).post(f"/api/v1/executions/{execution.pk}/retry/", {}, format="json")
    assert response.status_code == 400
    assert "from" in response.json()
