"""/healthz against the real database, Redis and worker heartbeats: the web process checks the
database and Redis itself and reads the Docker engine's state from the workers' heartbeats (it has
no Docker socket in compose.yaml)."""

import socket
import time
import uuid

import pytest
import redis
from django.db import connection

from apps.core.heartbeats import HEARTBEAT_TTL_SECONDS, worker_heartbeat_write
from apps.sandbox.client import check_docker

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    # Bind to an ephemeral port and release it: nothing listens there afterwards.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def beats(settings):
    """This test's own heartbeat keys: workers of other tests (and xdist workers) write theirs too."""
    prefix = f"test-heartbeat-{uuid.uuid4().hex[:12]}:"
    settings.RUNBOOKS_WORKER_HEARTBEAT_PREFIX = prefix
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    yield client
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)
    client.close()


def test_it_answers_200_when_database_redis_and_docker_are_up(client, docker_engine, beats):
    # What a worker writes: its own check of the real engine.
    worker_heartbeat_write(connection=beats, worker="worker-1", docker=check_docker())

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok", "docker": "ok", "status": "ok"}


def test_one_live_worker_that_reaches_docker_is_enough(client, beats):
    worker_heartbeat_write(connection=beats, worker="cut-off", docker="DockerException")
    worker_heartbeat_write(connection=beats, worker="connected", docker=None)

    assert client.get("/healthz").status_code == 200


def test_it_answers_503_naming_docker_when_the_workers_cannot_reach_it(client, settings, beats, tmp_path):
    # A real failed check: the worker's DOCKER_HOST names a socket nobody listens on.
    settings.DOCKER_HOST = f"unix://{tmp_path}/docker.sock"
    problem = check_docker()
    assert problem is not None
    worker_heartbeat_write(connection=beats, worker="worker-1", docker=problem)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["docker"] == f"down (no worker reaches the Docker engine (1 reporting: {problem}))"
    assert body["problems"] == [f"docker: no worker reaches the Docker engine (1 reporting: {problem})"]
    assert body["database"] == "ok" and body["redis"] == "ok" and body["status"] == "degraded"


def test_it_answers_503_naming_docker_when_no_worker_has_reported(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["problems"] == [f"docker: no worker has reported in the last {HEARTBEAT_TTL_SECONDS} s"]


def test_a_heartbeat_older_than_its_ttl_is_no_worker(client, beats):
    # Written TTL + 1 s ago by the writer's clock: what Redis would have dropped by now.
    worker_heartbeat_write(
        connection=beats, worker="worker-1", docker=None, now=time.time() - HEARTBEAT_TTL_SECONDS - 1
    )

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["docker"] == f"down (no worker has reported in the last {HEARTBEAT_TTL_SECONDS} s)"


def test_redis_forgets_a_heartbeat_at_its_ttl(beats, settings):
    worker_heartbeat_write(connection=beats, worker="worker-1", docker=None)
    key = f"{settings.RUNBOOKS_WORKER_HEARTBEAT_PREFIX}worker-1"
    assert 0 < beats.ttl(key) <= HEARTBEAT_TTL_SECONDS


def test_it_answers_503_naming_redis_when_redis_is_down(client, settings, beats):
    worker_heartbeat_write(connection=beats, worker="worker-1", docker=None)
    settings.REDIS_URL = f"redis://:hunter2-secret@127.0.0.1:{closed_port()}/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["redis"].startswith("down")
    assert body["database"] == "ok"
    # The heartbeats are in Redis: Docker's state is unknown then, and only Redis is named.
    assert body["docker"].startswith("unknown")
    assert body["problems"] == ["redis: ConnectionError"]


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_naming_the_database_when_it_is_down(client, beats, monkeypatch):
    worker_heartbeat_write(connection=beats, worker="worker-1", docker=None)
    # The real connection, pointed at a port nobody listens on (restored, and reconnected, afterwards).
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", str(closed_port()))
    try:
        response = client.get("/healthz")
    finally:
        connection.close()

    assert response.status_code == 503
    body = response.json()
    assert body["database"].startswith("down (") and body["redis"] == "ok" and body["docker"] == "ok"
    assert body["problems"] == [f"database: {body['database'][6:-1]}"]


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
