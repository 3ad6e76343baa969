"""Crash safety: expired leases end `incomplete`, leftover containers go, nothing is re-run —
including the real thing: a worker process killed with SIGKILL in the middle of a step."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
import redis
from django.db import connection
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.executions.models import Execution, StepRun
from apps.executions.reaper import reap_expired
from apps.executions.services.lifecycle import lost_message
from apps.executions.services.start import execution_start
from apps.sandbox.labels import INSTANCE_LABEL, instance_id
from apps.sandbox.warm import WARM_LABEL
from tests.support.executions import IMAGE, command

BASE_DIR = Path(__file__).resolve().parents[2]
LABEL = "runbooks.execution"


@pytest.fixture
def running(cast, make_runbook):
    """A run whose worker claimed it and started its first step, with the lease `expires_in` away."""

    def make(expires_in: float) -> Execution:
        runbook = make_runbook(cast.owner, [command("first", "echo 1"), command("second", "echo 2")])
        execution = execution_start(runbook=runbook, user=cast.runner)
        Execution.objects.filter(pk=execution.pk).update(
            status="running",
            started_at=timezone.now(),
            worker_name="host/123",
            lease_expires_at=timezone.now() + timedelta(seconds=expires_in),
        )
        StepRun.objects.filter(execution=execution, block_key="first").update(status="running")
        return execution

    return make


def test_an_expired_lease_makes_the_run_incomplete_without_re_running_the_step(running):
    execution = running(expires_in=-1)
    assert reap_expired() == [execution.pk]
    execution.refresh_from_db()
    message = "The worker running this execution stopped (lost at step first); the step was not re-run."
    assert (execution.status, execution.error) == ("incomplete", message)
    assert execution.finished_at and execution.lease_expires_at is None
    first, second = execution.steps.order_by("position")
    assert (first.status, first.error) == ("failed", message)
    assert second.status == "skipped"
    assert AuditEvent.objects.get(action="execution.finish").detail["status"] == "incomplete"


def test_a_live_lease_is_left_alone(running):
    execution = running(expires_in=20)
    assert reap_expired() == []
    execution.refresh_from_db()
    assert execution.status == "running"
    assert reap_expired(now=timezone.now() + timedelta(seconds=30)) == [execution.pk]


def test_the_lost_message_names_the_step():
    assert lost_message("restart") == (
        "The worker running this execution stopped (lost at step restart); the step was not re-run."
    )


def _leftover(docker_engine, execution_id: int):
    return docker_engine.containers.run(
        IMAGE,
        ["sleep", "100"],
        detach=True,
        network_mode="none",
        labels={LABEL: str(execution_id), INSTANCE_LABEL: instance_id()},
    )


def test_it_removes_containers_of_reaped_and_finished_runs_only(running, docker_engine):
    lost = running(expires_in=-1)
    alive = running(expires_in=20)
    finished = running(expires_in=20)
    Execution.objects.filter(pk=finished.pk).update(status="succeeded", lease_expires_at=None)
    containers = {name: _leftover(docker_engine, execution.pk) for name, execution in
                  (("lost", lost), ("alive", alive), ("finished", finished))}  # fmt: skip
    try:
        reap_expired()
        mine = {"label": [LABEL, f"{INSTANCE_LABEL}={instance_id()}"]}
        remaining = {container.id for container in docker_engine.containers.list(all=True, filters=mine)}
        assert containers["lost"].id not in remaining
        assert containers["finished"].id not in remaining
        assert containers["alive"].id in remaining
    finally:
        for container in docker_engine.containers.list(all=True, filters={"label": LABEL}):
            if container.id in {leftover.id for leftover in containers.values()}:
                container.remove(force=True)


def test_a_docker_engine_that_is_down_does_not_stop_the_reaper(running, settings, tmp_path):
    settings.DOCKER_HOST = f"unix://{tmp_path}/docker.sock"
    execution = running(expires_in=-1)
    assert reap_expired() == [execution.pk]


# --- a real worker, killed with SIGKILL ---------------------------------------------------------

SETUP = """
from django.contrib.auth import get_user_model
from apps.environments.models import ExecutionEnvironment
from apps.executions.services.start import execution_start
from apps.runbooks.services.runbooks import runbook_create
from apps.runbooks.versions import runbook_publish

owner = get_user_model().objects.create_user(username="kill-test", password="kill-test-password")
environment = ExecutionEnvironment.objects.create(name="kill-test", image="IMAGE", is_default=True)
runbook = runbook_create(
    user=owner, title="Kill test", environment=environment.pk,
    blocks=[{"key": "slow", "kind": "command", "config": {"script": "echo started; sleep 100"}}],
)
runbook_publish(runbook=runbook, user=owner, message="v1")
# A quick run first: with warm containers on, it leaves the spare the slow step then claims.
warm_up = runbook_create(
    user=owner, title="Warm-up", environment=environment.pk,
    blocks=[{"key": "quick", "kind": "command", "config": {"script": "echo warm"}}],
)
runbook_publish(runbook=warm_up, user=owner, message="v1")
execution_start(runbook=warm_up, user=owner)
print("EXECUTION", execution_start(runbook=runbook, user=owner).pk)
""".replace("IMAGE", IMAGE)


class Database:
    """The database the worker subprocesses share with this test, and how this test reads it."""

    def __init__(self, tmp_path: Path):
        settings_dict = connection.settings_dict
        self.vendor = connection.vendor
        if self.vendor == "postgresql":
            # The test database itself: rows written by the subprocesses are committed, and
            # transactional_db empties the tables afterwards.
            self.url = "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(
                **{key: settings_dict.get(key) or "" for key in ("USER", "PASSWORD", "HOST", "NAME")},
                PORT=settings_dict.get("PORT") or 5432,
            )
        else:
            # The SQLite test database lives in this process's memory: the subprocesses get a file.
            self.path = tmp_path / "kill-test.sqlite3"
            self.url = f"sqlite:///{self.path}"

    def row(self, table: str, where: str, args: tuple) -> dict | None:
        if self.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT * FROM {table} WHERE {where.replace('?', '%s')}", args)
                columns = [column[0] for column in cursor.description]
                found = cursor.fetchone()
        else:
            with sqlite3.connect(self.path, timeout=20) as sqlite:
                cursor = sqlite.execute(f"SELECT * FROM {table} WHERE {where}", args)
                columns = [column[0] for column in cursor.description]
                found = cursor.fetchone()
        return dict(zip(columns, found, strict=True)) if found else None

    def stored_output(self) -> str:
        """Every output chunk the workers stored, in one string."""
        if self.vendor != "postgresql":
            with sqlite3.connect(self.path) as sqlite:
                return "".join(row[0] for row in sqlite.execute("SELECT data FROM executions_outputchunk"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT data FROM executions_outputchunk")
            return "".join(row[0] for row in cursor.fetchall())


def _environment(database: Database, redis_url: str, *, warm: bool = False) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "runbooks_site.settings.test",
        "DATABASE_URL": database.url,
        "REDIS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
        "RUNBOOKS_WARM_CONTAINERS": "1" if warm else "0",
    }


def _manage(*args, env: dict, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _start_worker(env: dict, name: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        # One worker process: the slow run must find the spare the warm-up run left in that process.
        [sys.executable, "manage.py", "worker", "--redis-wait", "5", "--name", name, "--concurrency", "1"],
        cwd=BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"Timed out after {timeout:g} s waiting for {what}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("warm", [False, True], ids=["fresh-container", "warm-spare"])
def test_a_worker_killed_mid_step_leaves_an_incomplete_run_and_no_container(docker_engine, tmp_path, warm):
    database = Database(tmp_path)
    # A Redis database of this test alone, so no other test's queued jobs reach these workers.
    redis_url = os.environ.get("RUNBOOKS_TEST_KILL_REDIS_URL", "redis://127.0.0.1:6379/14")
    try:
        redis.Redis.from_url(redis_url).flushdb()
    except redis.RedisError as error:
        pytest.skip(f"Redis not reachable: {error}")
    env = _environment(database, redis_url, warm=warm)
    if database.vendor != "postgresql":
        _manage("migrate", "--no-input", env=env, timeout=300)
    output = _manage("shell", "-c", SETUP, env=env)
    execution_id = int(output.split("EXECUTION", 1)[1].strip())
    # Execution ids repeat across the test databases of parallel workers sharing this Docker
    # engine: the workers' installation label tells their containers apart.
    instance = (
        _manage("shell", "-c", "from apps.sandbox.labels import instance_id; print(instance_id())", env=env)
        .strip()
        .splitlines()[-1]
    )
    workers = []
    first_worker_pids: set[int] = set()

    def ours(*, first_worker_only: bool = True) -> list:
        """This run's containers, and every warm spare of the first worker's processes (claimed or
        not): the command's worker processes are its children, and die with it."""
        found = docker_engine.containers.list(
            all=True, filters={"label": [f"{LABEL}={execution_id}", f"{INSTANCE_LABEL}={instance}"]}
        )
        spares = docker_engine.containers.list(
            all=True, filters={"label": [WARM_LABEL, f"{INSTANCE_LABEL}={instance}"]}
        )
        first = {f"{socket.gethostname()}:{pid}:" for pid in first_worker_pids}
        found += [
            container
            for container in spares
            if not first_worker_only or any(container.labels.get(WARM_LABEL, "").startswith(owner) for owner in first)
        ]
        return found

    try:
        workers.append(_start_worker(env, f"kill-test-1-{uuid.uuid4().hex[:8]}", tmp_path / "worker-1.log"))
        first_worker_pids.add(workers[0].pid)

        def step_running_with_container():
            step = database.row("executions_steprun", "execution_id = ?", (execution_id,))
            if not step or step["status"] != "running" or not step["container_id"]:
                return None
            # Mid-step: the script has begun (a claimed spare runs before its script does).
            if not database.row("executions_outputchunk", "step_run_id = ?", (step["id"],)):
                return None
            running = docker_engine.containers.list(filters={"id": step["container_id"]})
            return step if running else None

        step = _wait_for(step_running_with_container, 60, "the step to run its script in a container")
        claimed = docker_engine.containers.get(step["container_id"])
        # The step runs in the spare the warm-up left (warm), or in a container of its own.
        assert (WARM_LABEL in claimed.labels) is warm
        # Every process of the first worker command: the pool's and its workers'.
        first_worker_pids.update(child.pid for child in psutil.Process(workers[0].pid).children(recursive=True))
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=10)
        killed_at = time.monotonic()

        # The next worker to start (or any worker still alive) reaps the run once its lease expires.
        workers.append(_start_worker(env, f"kill-test-2-{uuid.uuid4().hex[:8]}", tmp_path / "worker-2.log"))

        def incomplete():
            row = database.row("executions_execution", "id = ?", (execution_id,))
            return row if row["status"] == "incomplete" else None

        execution = _wait_for(incomplete, 60, "the run to become incomplete")
        assert time.monotonic() - killed_at <= 60
        assert execution["error"] == lost_message("slow")
        _wait_for(lambda: not ours(), 15, "the step's container (and any spare) to be removed")
        after = database.row("executions_steprun", "execution_id = ?", (execution_id,))
        assert after["status"] == "failed" and after["error"] == lost_message("slow")
        # Not re-run: the same start, and "started" printed once.
        assert str(after["started_at"]) == str(step["started_at"])
        assert database.stored_output().count("started") == 1
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(worker.pid, signal.SIGKILL)
        for container in ours(first_worker_only=False):
            container.remove(force=True)
