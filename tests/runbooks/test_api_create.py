"""POST /api/v1/runbooks/: the creator becomes owner and gets the runbook back in the documented shape."""

from apps.environments.models import ExecutionEnvironment
from apps.runbooks.models import Runbook
from apps.runbooks.selectors import runbook_role_of

RUNBOOK_KEYS = {
    "id", "uuid", "title", "description", "description_html", "tags", "environment", "parameters", "blocks",
    "revision", "published_version", "owner", "created_at", "updated_at",
}  # fmt: skip

FULL_BODY = {
    "title": "  Drain a Kubernetes node  ",
    "description": "Use when a node is **unhealthy**.",
    "tags": ["K8s", "nodes", "k8s"],
    "parameters": [{"name": "NODE", "label": "Node name", "required": True}],
    "blocks": [
        {"key": "check", "title": "Look first", "kind": "instruction", "config": {"markdown": "Open Grafana."}},
        {"key": "drain", "kind": "command", "config": {"script": "kubectl drain $NODE", "shell": "bash"}},
        {
            "key": "ping",
            "kind": "api_call",
            "config": {"method": "POST", "url": "https://status.example.com/api", "expected_status": [200, 204]},
        },
        {"key": "healthy", "kind": "conditional", "config": {"expression": "steps.ping.status == 'succeeded'"}},
        {"key": "settle", "kind": "timer", "config": {"seconds": 30}},
    ],
}


def test_it_creates_a_runbook_owned_by_the_caller(cast, api_for):
    response = api_for(cast.runner).post("/api/v1/runbooks/", FULL_BODY, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == RUNBOOK_KEYS
    runbook = Runbook.objects.get(pk=body["id"])
    assert response["Location"] == f"/api/v1/runbooks/{runbook.pk}/"
    assert body["owner"] == "runner"
    assert runbook_role_of(cast.runner, runbook) == "owner"
    assert body["revision"] == 1
    assert body["published_version"] is None
    assert body["title"] == "Drain a Kubernetes node"
    assert body["description_html"] == "<p>Use when a node is <strong>unhealthy</strong>.</p>\n"
    assert body["tags"] == ["k8s", "nodes"]


def test_it_answers_parameters_and_blocks_with_their_defaults_filled_in(cast, api_for):
    body = api_for(cast.owner).post("/api/v1/runbooks/", FULL_BODY, format="json").json()
    assert body["parameters"] == [
        {"name": "NODE", "label": "Node name", "default": None, "required": True, "choices": None}
    ]
    assert [block["key"] for block in body["blocks"]] == ["check", "drain", "ping", "healthy", "settle"]
    by_key = {block["key"]: block for block in body["blocks"]}
    assert by_key["check"] == {
        "key": "check",
        "title": "Look first",
        "kind": "instruction",
        "config": {"markdown": "Open Grafana.", "gate": "none"},
    }
    assert by_key["drain"]["config"] == {
        "script": "kubectl drain $NODE",
        "shell": "bash",
        "timeout_seconds": 300,
        "credentials": [],
        "continue_on_error": False,
    }
    assert set(by_key["ping"]["config"]) == {
        "method", "url", "headers", "body", "credential", "expected_status", "timeout_seconds", "continue_on_error",
    }  # fmt: skip
    assert by_key["ping"]["config"]["expected_status"] == [200, 204]
    assert by_key["healthy"]["config"]["on_false"] == "stop"
    assert by_key["settle"]["config"] == {"seconds": 30}


def test_a_title_alone_is_enough(cast, api_for):
    body = api_for(cast.viewer).post("/api/v1/runbooks/", {"title": "Empty"}, format="json").json()
    assert (body["description"], body["tags"], body["parameters"], body["blocks"]) == ("", [], [], [])


def test_it_takes_an_environment_by_id(cast, api_for):
    environment = ExecutionEnvironment.objects.create(name="kubectl", image="kubectl:1.31")
    body = (
        api_for(cast.owner)
        .post("/api/v1/runbooks/", {"title": "With env", "environment": environment.pk}, format="json")
        .json()
    )
    assert body["environment"] == environment.pk


def test_without_an_environment_it_uses_the_default_one(cast, api_for):
    default = ExecutionEnvironment.objects.create(name="default", image="busybox", is_default=True)
    body = (
        api_for(cast.owner)
        .post("/api/v1/runbooks/", {"title": "Default env", "environment": None}, format="json")
        .json()
    )
    assert body["environment"] == default.pk


def test_the_new_runbook_can_be_read_back(cast, api_for):
    api = api_for(cast.owner)
    created = api.post("/api/v1/runbooks/", FULL_BODY, format="json").json()
    assert api.get(f"/api/v1/runbooks/{created['id']}/").json() == created
