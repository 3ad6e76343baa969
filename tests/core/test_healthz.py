import socket

import pytest

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    # Bind to an ephemeral port and release it: nothing listens there afterwards.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_answers_200_when_database_redis_and_docker_are_up(client, docker_engine):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok", "docker": "ok", "status": "ok"}


def test_it_answers_503_naming_redis_when_redis_is_down(client, settings):
    settings.REDIS_URL = f"redis://:hunter2-secret@127.0.0.1:{closed_port()}/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["redis"].startswith("down")
    assert body["database"] == "ok"


def test_the_body_never_contains_the_redis_url_or_password(client, settings):
    port = closed_port()
    settings.REDIS_URL = f"redis://:hunter2-secret@127.0.0.1:{port}/0"

    text = client.get("/healthz").content.decode()

    assert "hunter2-secret" not in text
    assert str(port) not in text
    assert "redis://" not in text


def test_it_is_never_cached(client):
    response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_it_refuses_anything_but_get(client):
    assert client.post("/healthz").status_code == 405
