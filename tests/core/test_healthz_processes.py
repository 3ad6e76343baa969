"""/healthz as compose deploys it: the web process has no Docker socket, a worker beside it has one.

Real daphne and real `manage.py worker` processes on the test database and Redis. The web process is
pointed at a Docker socket that does not exist (as compose's web container, which mounts none), so a
200 can only come from the worker's own report.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from django.conf import settings

from tests.support.live_stack import Stack

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

NO_DOCKER = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


@pytest.fixture
def web(tmp_path, docker_engine):
    # Names of their own (queues, Redis keys, heartbeats): no other test's worker or heartbeat counts here.
    isolated = {"PYTEST_XDIST_WORKER": f"health-{uuid.uuid4().hex[:8]}"}
    stack = Stack(tmp_path, name="health", redis_url=settings.REDIS_URL)
    stack.env |= isolated
    daphne = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(stack.port)]
    stack.spawn("daphne", [*daphne, "runbooks_site.asgi:application"], env=NO_DOCKER)
    yield stack
    stack.stop()


def health(stack: Stack) -> httpx.Response:
    return httpx.get(f"{stack.url}/healthz", timeout=10)


def health_until(stack: Stack, predicate, *, seconds: float = 60) -> httpx.Response:
    """Poll /healthz until `predicate(response)`: a heartbeat's arrival or removal sends no event."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            last = health(stack)
            if predicate(last):
                return last
        except httpx.TransportError:
            pass  # daphne still starting
        time.sleep(0.2)
    pytest.fail(f"/healthz never matched; last answer: {last and last.text}\n{stack.log('daphne')}")


def worker(stack: Stack, name: str, *, env: dict[str, str] | None = None):
    command = [sys.executable, "manage.py", "worker", "--redis-wait", "5", "--name", f"{name}-{uuid.uuid4().hex[:6]}"]
    return stack.spawn(name, command, env=env)


def test_web_without_docker_is_healthy_once_a_worker_reports_docker(web):
    first = health_until(web, lambda response: True)
    assert first.status_code == 503
    assert first.json()["docker"].startswith("down (no worker has reported")
    assert first.json()["problems"] == [first.json()["problems"][0]] and first.json()["problems"][0].startswith(
        "docker:"
    )

    process = worker(web, "worker")
    up = health_until(web, lambda response: response.status_code == 200)
    assert up.json() == {"database": "ok", "redis": "ok", "docker": "ok", "status": "ok"}

    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=120)  # a loaded machine stops a worker pool slowly; the heartbeat is what is tested
    except subprocess.TimeoutExpired:
        # Twice in full runs the pool outlived 120 s: say which of its processes were left, and what it logged.
        left = subprocess.run(["ps", "-o", "pid,ppid,stat,wchan:24,args", "-s", str(process.pid)],
                              capture_output=True, text=True).stdout  # fmt: skip
        os.killpg(process.pid, signal.SIGUSR1)  # every process left prints its threads' stacks (faulthandler)
        time.sleep(2)  # the dump is written by each process on its own; nothing signals its end
        log = "\n".join(
            line for line in web.log("worker", tail=200_000).splitlines() if "Waiting for workers" not in line
        )
        pytest.fail(f"the worker pool did not stop within 120 s of SIGTERM\n{left}\n{log[-30_000:]}")
    down = health_until(web, lambda response: response.status_code == 503)
    assert down.json()["problems"] == ["docker: no worker has reported in the last 30 s"]
    assert (down.json()["database"], down.json()["redis"]) == ("ok", "ok")


def test_a_worker_that_cannot_reach_docker_makes_web_name_docker(web):
    worker(web, "blind-worker", env=NO_DOCKER)
    down = health_until(web, lambda response: "no worker reaches" in response.text)
    assert down.status_code == 503
    assert down.json()["problems"] == [down.json()["problems"][0]]
    # Every process of the worker's pool reports for itself; none of them reaches the engine.
    assert re.fullmatch(
        r"docker: no worker reaches the Docker engine \(\d+ reporting: DockerException\)", down.json()["problems"][0]
    )
    assert (down.json()["database"], down.json()["redis"]) == ("ok", "ok")
