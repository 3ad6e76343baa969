"""Issue 12, finding 7: bad input that answered 500 (or reached PostgreSQL) gets a 4xx naming the field.

Each case is sent exactly as reported: a JSON text with a lone surrogate escape, 100,000 nested
lists, an id of 10**30 in the URL, 10**23 in a query filter, and NUL in a title or a tag through
the API and through the create and edit pages. Nothing is saved.
"""

import json

import pytest

from apps.environments.models import ExecutionEnvironment
from apps.executions.services.start import execution_start
from apps.runbooks.models import Runbook
from apps.runbooks.versions import runbook_publish

pytestmark = pytest.mark.django_db


def post_raw(api, path: str, text: str, method: str = "post"):
    """Send `text` as the JSON body byte for byte (an escape such as \\ud800 stays an escape)."""
    return getattr(api, method)(path, data=text.encode("ascii"), content_type="application/json")


def error_text(response) -> str:
    return json.dumps(response.json(), ensure_ascii=False)


def test_it_refuses_a_lone_surrogate_in_a_json_string_naming_the_field(cast, api_for):
    response = post_raw(api_for(cast.owner), "/api/v1/runbooks/", '{"title": "\\ud800"}')
    assert response.status_code == 400, response.content
    assert "title" in response.json()
    assert "surrogate" in error_text(response).lower()
    assert not Runbook.objects.exclude(pk=cast.runbook.pk).exists()


def test_it_refuses_a_lone_surrogate_in_a_patch_of_a_nested_field(cast, api_for):
    blocks = '[{"key": "s", "kind": "command", "config": {"script": "echo \\udfff"}}]'
    body = f'{{"revision": {cast.runbook.revision}, "blocks": {blocks}}}'
    response = post_raw(api_for(cast.owner), f"/api/v1/runbooks/{cast.runbook.pk}/", body, method="patch")
    assert response.status_code == 400, response.content
    assert "blocks" in response.json()
    assert "blocks[0].config.script" in error_text(response)
    cast.runbook.refresh_from_db()
    assert [block.key for block in cast.runbook.blocks.order_by("position")] == ["intro", "restart"]


def test_it_refuses_json_nested_100000_deep(cast, api_for):
    body = "[" * 100_000 + "]" * 100_000
    response = post_raw(api_for(cast.owner), "/api/v1/runbooks/", body)
    assert response.status_code == 400, response.content
    assert "deep" in error_text(response).lower()


def test_it_refuses_an_object_nested_deeper_than_the_limit_inside_a_field(cast, api_for):
    body = '{"title": "t", "parameters": ' + "[" * 200 + "]" * 200 + "}"
    response = post_raw(api_for(cast.owner), "/api/v1/runbooks/", body)
    assert response.status_code == 400, response.content
    assert "deep" in error_text(response).lower()
    assert not Runbook.objects.exclude(pk=cast.runbook.pk).exists()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/runbooks/1000000000000000000000000000000/",
        "/api/v1/runbooks/1000000000000000000000000000000/access/",
        "/api/v1/runbooks/1000000000000000000000000000000/versions/",
        "/api/v1/executions/1000000000000000000000000000000/",
        "/api/v1/credentials/1000000000000000000000000000000/",
        "/api/v1/environments/1000000000000000000000000000000/",
    ],
)
def test_it_answers_404_for_an_id_of_10_to_the_30(cast, api_for, path):
    response = api_for(cast.owner).get(path)
    assert response.status_code == 404, response.content


def test_it_answers_404_for_a_version_number_of_10_to_the_30(cast, api_for):
    response = api_for(cast.owner).get(f"/api/v1/runbooks/{cast.runbook.pk}/versions/{10**30}/")
    assert response.status_code == 404, response.content


def test_it_refuses_an_oversized_runbook_filter_naming_it(cast, api_for):
    response = api_for(cast.owner).get("/api/v1/executions/", {"runbook": "99999999999999999999999"})
    assert response.status_code == 400, response.content
    assert "runbook" in response.json()


@pytest.mark.parametrize(
    ("field", "value"),
    [("environment", 10**30), ("revision", 10**30)],
)
def test_it_refuses_an_oversized_int_in_a_patch_naming_the_field(cast, api_for, field, value):
    body = {"revision": cast.runbook.revision, field: value}
    response = api_for(cast.owner).patch(f"/api/v1/runbooks/{cast.runbook.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", "Restart\x00now"), ("tags", ["pay\x00ments"]), ("description", "a\x00b")],
)
def test_the_api_refuses_nul_in_a_new_runbook_naming_the_field(cast, api_for, field, value):
    body = {"title": "Fine title", field: value}
    response = api_for(cast.owner).post("/api/v1/runbooks/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert "NUL" in error_text(response)
    assert not Runbook.objects.exclude(pk=cast.runbook.pk).exists()


@pytest.mark.parametrize(("field", "value"), [("title", "Restart\x00now"), ("tags", ["pay\x00ments"])])
def test_the_api_refuses_nul_in_a_runbook_patch_naming_the_field(cast, api_for, field, value):
    body = {"revision": cast.runbook.revision, field: value}
    response = api_for(cast.owner).patch(f"/api/v1/runbooks/{cast.runbook.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    cast.runbook.refresh_from_db()
    assert cast.runbook.title == "Restart the payments API"
    assert sorted(cast.runbook.tags.names()) == ["api", "payments"]


@pytest.mark.parametrize(("field", "value"), [("title", "Restart\x00now"), ("tags", "pay\x00ments, db")])
def test_the_create_page_refuses_nul_naming_the_field(cast, client_for, field, value):
    data = {"title": "Fine title", "description": "", "tags": "", "environment": "", field: value}
    response = client_for(cast.owner).post("/runbooks/new", data)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    assert not Runbook.objects.exclude(pk=cast.runbook.pk).exists()


@pytest.mark.parametrize(("field", "value"), [("title", "Restart\x00now"), ("tags", "pay\x00ments")])
def test_the_edit_page_refuses_nul_naming_the_field(cast, client_for, field, value):
    runbook = cast.runbook
    data = {
        "title": runbook.title,
        "description": runbook.description,
        "tags": "payments, api",
        "environment": "",
        "revision": runbook.revision,
        field: value,
    }
    response = client_for(cast.owner).post(f"/runbooks/{runbook.pk}/edit", data)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    runbook.refresh_from_db()
    assert runbook.title == "Restart the payments API"
    assert sorted(runbook.tags.names()) == ["api", "payments"]


def test_the_list_search_refuses_nul_naming_the_parameter(cast, api_for):
    response = api_for(cast.owner).get("/api/v1/runbooks/", {"q": "a\x00b"})
    assert response.status_code == 400, response.content
    assert "q" in response.json()


def test_a_step_key_in_the_url_that_names_no_step_answers_404(cast, api_for):
    ExecutionEnvironment.objects.create(name="busybox", image="runbooks-test-busybox:latest", is_default=True)
    runbook_publish(runbook=cast.runbook, user=cast.owner, message="v1")
    execution = execution_start(runbook=cast.runbook, user=cast.owner)
    response = api_for(cast.owner).post(f"/api/v1/executions/{execution.pk}/steps/nope/confirm/", {}, format="json")
    assert response.status_code == 404, response.content
