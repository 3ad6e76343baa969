"""`manage.py worker_health`, the worker container's healthcheck: it checks the database, Redis and
the Docker engine from the worker's side, with the real engine and a real unreachable one."""

import json
import socket

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_it_reports_everything_up(docker_engine, capsys):
    call_command("worker_health")
    assert json.loads(capsys.readouterr().out) == {"database": "ok", "redis": "ok", "docker": "ok"}


def test_it_fails_naming_docker_when_this_worker_cannot_reach_it(settings, tmp_path, capsys):
    settings.DOCKER_HOST = f"unix://{tmp_path}/docker.sock"
    with pytest.raises(CommandError) as raised:
        call_command("worker_health")
    assert str(raised.value) == "docker: DockerException"
    assert json.loads(capsys.readouterr().out)["docker"] == "down (DockerException)"


def test_it_fails_naming_redis_without_quoting_its_url(settings, docker_engine):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.REDIS_URL = f"redis://:hunter2-secret@127.0.0.1:{port}/0"
    with pytest.raises(CommandError) as raised:
        call_command("worker_health")
    assert str(raised.value) == "redis: ConnectionError"
