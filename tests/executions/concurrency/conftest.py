"""A real `manage.py worker --concurrency N` as a subprocess, on the test database and a Redis
database of its own, for the concurrency acceptance tests.

The worker's Redis database is RUNBOOKS_TEST_WORKER_REDIS_URL (default db 13, which no other test
uses): it is flushed before and after each test, and this test process enqueues there too
(apps.executions.queue.executions_queue is pointed at it). The queue names are this pytest worker's
own (settings.test), which the worker subprocess inherits with PYTEST_XDIST_WORKER.
"""

import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import environ
import pytest
import redis
from django.conf import settings
from django.db import connection
from rq import Queue, Worker

from apps.executions.models import Execution, StepRun
from apps.sandbox.labels import INSTANCE_LABEL

BASE_DIR = Path(__file__).resolve().parents[3]
WORKER_REDIS_URL = os.environ.get("RUNBOOKS_TEST_WORKER_REDIS_URL", "redis://127.0.0.1:6379/13")
EXECUTION_LABEL = "runbooks.execution"


def database_url() -> str:
    """The test database itself: rows the worker writes are committed, and transactional_db
    empties the tables afterwards. SQLite's test database is a WAL file (settings.test)."""
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        return "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(
            **{key: settings_dict.get(key) or "" for key in ("USER", "PASSWORD", "HOST", "NAME")},
            PORT=settings_dict.get("PORT") or 5432,
        )
    return f"sqlite:///{settings_dict['NAME']}"


def worker_instance_id() -> str:
    """apps.sandbox.labels.instance_id() as the worker computes it from its DATABASE_URL:
    the label that tells this test's containers from those of other test databases on the engine."""
    database = environ.Env.db_url_config(database_url())
    identity = "|".join(str(database.get(key) or "") for key in ("ENGINE", "HOST", "PORT", "NAME"))
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]


def containers_of(docker_engine, execution, *, all: bool = True) -> list:
    labels = [f"{EXECUTION_LABEL}={execution.pk}", f"{INSTANCE_LABEL}={worker_instance_id()}"]
    return docker_engine.containers.list(all=all, filters={"label": labels})


def wait_for(check, timeout: float, what: str, interval: float = 0.2):
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout:g} s waiting for {what}")


def statuses(executions) -> list[str]:
    found = dict(Execution.objects.filter(pk__in=[e.pk for e in executions]).values_list("pk", "status"))
    return [found[execution.pk] for execution in executions]


def running_with_output(executions) -> list[StepRun] | None:
    """The first step of each run, once every one runs its script in a container."""
    steps = []
    for execution in executions:
        step = StepRun.objects.filter(execution=execution, position=0).first()
        if step is None or step.status != "running" or not step.container_id or not step.chunks.exists():
            return None
        steps.append(step)
    return steps


class WorkerProcess:
    """`manage.py worker --concurrency N` in a session (process group) of its own."""

    def __init__(self, tmp_path: Path, concurrency: int, env: dict[str, str] | None = None):
        self.concurrency = concurrency
        self.prefix = f"conc-{uuid.uuid4().hex[:8]}"
        self.log_path = tmp_path / f"{self.prefix}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "runbooks_site.settings.test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": WORKER_REDIS_URL,
            "PYTHONUNBUFFERED": "1",
            "RUNBOOKS_WARM_CONTAINERS": "0",
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        command = [sys.executable, "manage.py", "worker", "--redis-wait", "5", "--name", self.prefix]
        self.process = subprocess.Popen(
            [*command, "--concurrency", str(self.concurrency)],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        connection_ = redis.Redis.from_url(WORKER_REDIS_URL)

        def all_listening() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"The worker exited ({self.process.returncode}):\n{self.log()}")
            names = [worker.name for worker in Worker.all(connection=connection_)]
            return sum(name.startswith(self.prefix) for name in names) == self.concurrency

        wait_for(all_listening, 60, f"{self.concurrency} worker processes to register with Redis")
        return self

    def log(self) -> str:
        return self.log_path.read_text()[-4000:]

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def worker_queue(monkeypatch):
    """The executions queue on the worker's Redis database, used by this process's services too."""
    client = redis.Redis.from_url(WORKER_REDIS_URL)
    try:
        client.flushdb()  # this database only: never FLUSHALL on a shared server
    except redis.RedisError as error:
        pytest.skip(f"Redis not reachable: {error}")
    queue = Queue(settings.RUNBOOKS_QUEUES["executions"], connection=client)
    monkeypatch.setattr("apps.executions.queue.executions_queue", lambda: queue)
    yield queue
    client.flushdb()


@pytest.fixture
def start_worker(tmp_path, worker_queue, docker_engine):
    """start_worker(concurrency, **env) → a started WorkerProcess; all are stopped afterwards, and
    every container of this test's executions is removed."""
    started: list[WorkerProcess] = []

    def start(concurrency: int, **env: str) -> WorkerProcess:
        worker = WorkerProcess(tmp_path, concurrency, {key: str(value) for key, value in env.items()})
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()
    for execution in Execution.objects.all():
        for container in containers_of(docker_engine, execution):
            container.remove(force=True)
