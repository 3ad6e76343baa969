import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        return redis.Redis(port=port, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return False


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.fixture
def start_embedded_redis(tmp_path):
    started = []

    def start() -> tuple[subprocess.Popen, int]:
        port = free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "runbooks_site.settings.test", "RUNBOOKS_VAR_DIR": str(tmp_path)}
        process = subprocess.Popen(
            [sys.executable, "manage.py", "embedded_redis", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        assert wait_until(lambda: answers(port), 30), "the embedded Redis never answered"
        return process, port

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_it_serves_without_persistence_and_stops_cleanly_on_sigterm(start_embedded_redis, tmp_path):
    process, port = start_embedded_redis()
    client = redis.Redis(port=port, decode_responses=True)
    assert client.config_get("save") == {"save": ""}
    assert client.config_get("appendonly") == {"appendonly": "no"}
    assert client.config_get("dir")["dir"] == str(tmp_path / "redis")
    client.close()

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=10) == 0
    assert not answers(port)


def test_redis_does_not_outlive_a_killed_command(start_embedded_redis):
    process, port = start_embedded_redis()

    process.kill()
    process.wait()

    assert wait_until(lambda: not answers(port), 5), "redis-server was left running"
