"""The executions API: what each role sees in the list, the DESIGN.md shapes, and bad input (who may
call each route: tests/test_permission_matrix/)."""

import pytest

from apps.executions.models import Execution
from apps.executions.services.start import execution_start
from apps.runbooks.services.runbooks import runbook_archive
from tests.support.executions import command, run_now

EXECUTION_KEYS = {
    "id", "runbook", "version", "draft", "mode", "block", "params", "status", "triggered_by",
    "created_at", "started_at", "finished_at", "trigger", "schedule",
}  # fmt: skip
STEP_KEYS = {
    "block", "kind", "status", "exit_code", "output", "output_truncated", "result", "started_at",
    "finished_at", "confirmed_by",
}  # fmt: skip
ROLES = ["owner", "editor", "runner", "viewer", "outsider", "staff", "admin", None]


@pytest.fixture
def runbook(cast, make_runbook):
    return make_runbook(cast.owner, [{"key": "read", "kind": "instruction", "config": {"markdown": "Hi"}}])


def user_of(cast, role):
    return getattr(cast, role) if role else None


@pytest.mark.parametrize("role, count", list(zip(ROLES, [1, 1, 1, 1, 0, 0, 1, None], strict=True)))
def test_the_list_shows_what_each_role_may_see(cast, runbook, api_for, role, count):
    execution_start(runbook=runbook, user=cast.runner)
    response = api_for(user_of(cast, role)).get("/api/v1/executions/")
    if count is None:
        assert response.status_code == 401
        return
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == count


def test_the_execution_shape_with_steps_and_output(cast, make_runbook, api_for, docker_engine):
    runbook = make_runbook(cast.owner, [command("hello", "echo hello; exit 3")])
    response = api_for(cast.runner).post(
        f"/api/v1/runbooks/{runbook.pk}/executions/", {"params": {}, "block": None, "version": None}, format="json"
    )
    assert response.status_code == 202
    created = response.json()
    assert set(created) == EXECUTION_KEYS | {"steps"}
    assert created["status"] == "queued" and created["version"] == 1 and created["draft"] is False
    assert created["triggered_by"] == "runner" and created["mode"] == "full" and created["block"] is None
    run_now(Execution.objects.get(pk=created["id"]))
    body = api_for(cast.viewer).get(f"/api/v1/executions/{created['id']}/").json()
    assert body["status"] == "failed" and body["runbook"] == runbook.pk
    [step] = body["steps"]
    assert set(step) == STEP_KEYS
    assert (step["block"], step["kind"], step["status"], step["exit_code"]) == ("hello", "command", "failed", 3)
    assert step["output"] == "hello\n" and step["output_truncated"] is False
    assert step["started_at"] and step["finished_at"] and step["confirmed_by"] is None


def test_a_single_block_run_of_a_pinned_version(cast, make_runbook, api_for):
    runbook = make_runbook(cast.owner, [{"key": "read", "kind": "instruction", "config": {"markdown": "Hi"}}])
    response = api_for(cast.runner).post(
        f"/api/v1/runbooks/{runbook.pk}/executions/", {"block": "read", "version": 1}, format="json"
    )
    assert response.status_code == 202
    assert (response.json()["mode"], response.json()["block"], response.json()["version"]) == ("block", "read", 1)


def test_runners_cannot_run_the_draft_through_the_api(cast, runbook, api_for):
    response = api_for(cast.runner).post(
        f"/api/v1/runbooks/{runbook.pk}/executions/", {"version": "draft"}, format="json"
    )
    assert response.status_code == 403
    assert not Execution.objects.exists()


def test_editors_run_the_draft_through_the_api(cast, runbook, api_for):
    response = api_for(cast.editor).post(
        f"/api/v1/runbooks/{runbook.pk}/executions/", {"version": "draft"}, format="json"
    )
    assert response.status_code == 202
    assert response.json()["draft"] is True and response.json()["version"] is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({"blok": "read"}, "blok"),
        ({"block": 5}, "block"),
        ({"version": True}, "version"),
        ({"version": [1]}, "version"),
        ({"params": {"nope": "1"}}, "params"),
        ({"params": "x"}, "params"),
        ({"block": "missing"}, "block"),
        ({"version": 9}, "version"),
    ],
)
def test_bad_start_bodies_are_400_with_field_errors(cast, runbook, api_for, body, field):
    response = api_for(cast.runner).post(f"/api/v1/runbooks/{runbook.pk}/executions/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Execution.objects.exists()


def test_a_body_that_is_not_an_object_is_400(cast, runbook, api_for):
    response = api_for(cast.runner).post(f"/api/v1/runbooks/{runbook.pk}/executions/", [1], format="json")
    assert response.status_code == 400


def test_redis_down_is_a_503_and_no_execution(cast, runbook, api_for, settings):
    settings.RQ_QUEUES = {name: {"URL": "redis://127.0.0.1:1/0"} for name in settings.RUNBOOKS_QUEUES.values()}
    response = api_for(cast.runner).post(f"/api/v1/runbooks/{runbook.pk}/executions/", {}, format="json")
    assert response.status_code == 503
    assert response.json() == {"detail": "Could not queue the run: Redis is not reachable at 127.0.0.1:1."}
    assert not Execution.objects.exists()


def test_cancelling_a_finished_run_is_409(cast, runbook, api_for):
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    response = api_for(cast.runner).post(f"/api/v1/executions/{execution.pk}/cancel/")
    assert response.status_code == 409
    assert "already finished" in response.json()["detail"]


def test_the_list_filters_by_runbook_and_status(cast, runbook, make_runbook, api_for):
    other = make_runbook(cast.owner, [{"key": "x", "kind": "instruction", "config": {"markdown": "x"}}], title="B")
    finished = run_now(execution_start(runbook=runbook, user=cast.runner))
    queued = execution_start(runbook=other, user=cast.runner)
    api = api_for(cast.owner)
    assert [row["id"] for row in api.get(f"/api/v1/executions/?runbook={other.pk}").json()["results"]] == [queued.pk]
    assert [row["id"] for row in api.get("/api/v1/executions/?status=succeeded").json()["results"]] == [finished.pk]
    assert set(api.get("/api/v1/executions/").json()["results"][0]) == EXECUTION_KEYS


@pytest.mark.parametrize("query", ["runbook=abc", "status=bogus"])
def test_bad_list_filters_are_400(cast, api_for, query):
    response = api_for(cast.owner).get(f"/api/v1/executions/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_an_archived_runbooks_executions_stay_visible(cast, runbook, api_for):
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    runbook_archive(runbook=runbook, user=cast.owner)
    assert api_for(cast.viewer).get(f"/api/v1/executions/{execution.pk}/").status_code == 200
    assert api_for(cast.viewer).get("/api/v1/executions/").json()["count"] == 1
    assert api_for(cast.runner).post(f"/api/v1/runbooks/{runbook.pk}/executions/", {}, format="json").status_code == 404


def test_the_list_takes_a_fixed_number_of_queries(cast, runbook, api_for, django_assert_max_num_queries):
    api = api_for(cast.viewer)
    api.get("/api/v1/executions/")
    for _ in range(5):
        execution_start(runbook=runbook, user=cast.runner)
    with django_assert_max_num_queries(8):
        response = api.get("/api/v1/executions/")
    assert response.json()["count"] == 5
