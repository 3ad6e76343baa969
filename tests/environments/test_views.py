"""Environment pages: everyone signed in reads; staff create, edit, rebuild and delete, with errors in place."""

import pytest

from apps.environments.models import ExecutionEnvironment

NON_STAFF = ("owner", "editor", "runner", "viewer", "outsider")


@pytest.fixture
def environment(db):
    return ExecutionEnvironment.objects.create(name="busybox", image="runbooks-test-busybox:latest", is_default=True)


def form(**changes) -> dict:
    data = {
        "name": "tools",
        "image": "alpine:3.20",
        "dockerfile": "",
        "network": "none",
        "memory_mb": "256",
        "cpus": "1",
        "pids_limit": "128",
        "timeout_seconds": "3600",
        "env": "",
    }
    return {**data, **changes}


def test_the_list_shows_environments_and_the_default(cast, client_for, environment):
    page = client_for(cast.viewer).get("/environments/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "busybox" in html and "default" in html
    assert "New environment" not in html, "only staff get the create button"
    assert "New environment" in client_for(cast.staff).get("/environments/").content.decode()


def test_the_list_has_an_empty_state(cast, client_for):
    assert "No environments yet" in client_for(cast.runner).get("/environments/").content.decode()


def test_staff_create_an_environment(cast, client_for):
    answer = client_for(cast.staff).post("/environments/new", form(env="LOG=debug\nREGION=eu"))
    environment = ExecutionEnvironment.objects.get(name="tools")
    assert answer.status_code == 302 and answer["Location"] == f"/environments/{environment.pk}/"
    assert environment.env == {"LOG": "debug", "REGION": "eu"}


def test_bad_input_is_shown_in_place_and_nothing_is_saved(cast, client_for):
    answer = client_for(cast.staff).post("/environments/new", form(name="", memory_mb="8", cpus="x", env="NOEQUALS"))
    html = answer.content.decode()
    assert answer.status_code == 400
    assert "Line 1: write NAME=value." in html
    assert not ExecutionEnvironment.objects.exists()


def test_service_errors_are_shown_next_to_their_fields(cast, client_for):
    answer = client_for(cast.staff).post("/environments/new", form(name="", memory_mb="8", cpus="x"))
    html = answer.content.decode()
    assert answer.status_code == 400
    assert 'id="field-name"' in html and "Give the environment a name." in html
    assert "Give a value from 16 to 65,536 MiB." in html
    assert "Give a number of CPUs" in html
    assert not ExecutionEnvironment.objects.exists()


def test_staff_edit_an_environment(cast, client_for, environment):
    client = client_for(cast.staff)
    page = client.get(f"/environments/{environment.pk}/edit")
    assert 'value="runbooks-test-busybox:latest"' in page.content.decode()
    answer = client.post(
        f"/environments/{environment.pk}/edit",
        form(name="busybox", image="runbooks-test-busybox:latest", memory_mb="64", is_default="on"),
    )
    assert answer.status_code == 302
    environment.refresh_from_db()
    assert environment.memory_mb == 64


def test_deleting_the_default_is_refused_in_place(cast, client_for, environment):
    answer = client_for(cast.staff).post(f"/environments/{environment.pk}/delete")
    assert answer.status_code == 400
    assert "default environment cannot be deleted" in answer.content.decode()
    assert ExecutionEnvironment.objects.filter(pk=environment.pk).exists()


def test_deleting_an_environment_in_use_names_the_runbooks(cast, client_for):
    other = ExecutionEnvironment.objects.create(name="other", image="alpine")
    cast.runbook.environment = other
    cast.runbook.save(update_fields=["environment"])
    client = client_for(cast.staff)
    assert "Restart the payments API" in client.get(f"/environments/{other.pk}/delete").content.decode()
    answer = client.post(f"/environments/{other.pk}/delete")
    assert answer.status_code == 400
    assert "Runbooks still use this environment" in answer.content.decode()


def test_staff_delete_an_unused_environment(cast, client_for):
    other = ExecutionEnvironment.objects.create(name="other", image="alpine")
    answer = client_for(cast.staff).post(f"/environments/{other.pk}/delete")
    assert answer.status_code == 302
    assert not ExecutionEnvironment.objects.filter(pk=other.pk).exists()


def test_rebuild_queues_a_build_of_a_dockerfile_environment(cast, client_for):
    other = ExecutionEnvironment.objects.create(name="built", dockerfile="FROM scratch\n", build_status="failed")
    answer = client_for(cast.staff).post(f"/environments/{other.pk}/rebuild", HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    other.refresh_from_db()
    assert other.build_status == "building"
    assert f'id="build-{other.pk}"' in html and 'hx-trigger="every 2s"' in html


def test_rebuild_of_an_image_environment_says_there_is_nothing_to_build(cast, client_for, environment):
    client = client_for(cast.staff)
    answer = client.post(f"/environments/{environment.pk}/rebuild", follow=True)
    assert "nothing to build" in answer.content.decode()


@pytest.mark.parametrize("role", NON_STAFF)
def test_non_staff_cannot_change_anything(cast, client_for, environment, role):
    client = client_for(getattr(cast, role))
    assert client.get(f"/environments/{environment.pk}/").status_code == 200
    assert client.get("/environments/new").status_code == 403
    assert client.post("/environments/new", form()).status_code == 403
    assert client.get(f"/environments/{environment.pk}/edit").status_code == 403
    assert client.post(f"/environments/{environment.pk}/edit", form(memory_mb="64")).status_code == 403
    assert client.post(f"/environments/{environment.pk}/delete").status_code == 403
    assert client.post(f"/environments/{environment.pk}/rebuild").status_code == 403
    environment.refresh_from_db()
    assert environment.memory_mb == 256 and ExecutionEnvironment.objects.count() == 1
