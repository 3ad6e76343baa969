"""Benchmark: the platform's overhead for one `echo` command block against a bare `docker run --rm`.

    .venv/bin/python bench/command_overhead.py [--pairs 20]

Each pair times, alternating which goes first:
- platform: POST /api/v1/runbooks/<id>/executions/ {"block": "hello"} through the whole Django/DRF
  stack (real token auth, real Redis enqueue), then the queued job run by the engine until the
  execution is final (hardened container, tar bootstrap, output stored in the database), i.e.
  until its finished_at; the container's removal that follows is not counted;
- bare: `docker run --rm <image> sh -c 'echo hello'` through the docker CLI.
It prints both medians and the median of the per-pair ratios (target: 1.25 or less).

Choice: the job is run in this process right after the API call, as a worker that was idle would
(RQ's BLPOP hands a job over at once), instead of a daphne server and a worker subprocess. That
keeps the measurement about the platform's own work, not about polling intervals, on a 2-core
machine that other processes share. Everything lives in a throwaway SQLite database in a temporary
directory and a Redis database of its own (REDIS_URL, default redis://127.0.0.1:6379/13), flushed
before and after.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import django
from django.core.management import call_command

BASE_DIR = Path(__file__).resolve().parent.parent
IMAGE = os.environ.get("BENCH_IMAGE", "runbooks-test-busybox:latest")


def django_setup(workdir: Path) -> None:
    """Django against a fresh SQLite file under `workdir`, migrated."""
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "runbooks_site.settings.test")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def flush_queue() -> None:
    # Imported after django_setup(): the apps need the settings it chose and a loaded app registry.
    from apps.executions.queue import executions_queue

    executions_queue().connection.flushdb()


def make_runbook(script: str, **environment_limits):
    """A user, an environment on IMAGE and a published one-block runbook running `script`."""
    # Imported after django_setup(): the apps need the settings it chose and a loaded app registry.
    from django.contrib.auth import get_user_model

    from apps.environments.models import ExecutionEnvironment
    from apps.runbooks.services.runbooks import runbook_create
    from apps.runbooks.versions import runbook_publish

    user = get_user_model().objects.create_user(username=f"bench-{time.time_ns()}", password="bench-password-1")
    environment = ExecutionEnvironment.objects.create(
        name=f"bench-{time.time_ns()}", image=IMAGE, is_default=True, **environment_limits
    )
    runbook = runbook_create(
        user=user,
        title="Benchmark",
        environment=environment.pk,
        blocks=[{"key": "hello", "kind": "command", "config": {"script": script}}],
    )
    runbook_publish(runbook=runbook, user=user, message="bench")
    return user, runbook


def api_client(user):
    # Imported after django_setup(): the apps need the settings it chose and a loaded app registry.
    from rest_framework.test import APIClient

    from apps.accounts.services import api_token_create

    _, token = api_token_create(user=user, name=f"bench-{time.time_ns()}")
    client = APIClient(SERVER_NAME="localhost")  # an ALLOWED_HOSTS name; "testserver" is not one
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def platform_run(client, runbook) -> float:
    # Imported after django_setup(): the apps need the settings it chose and a loaded app registry.
    from apps.executions.jobs import run_execution
    from apps.executions.models import Execution

    # Wall clock, to compare with finished_at: the moment the final state was recorded (the worker
    # then still waits for Docker to remove the container before taking the next job).
    started = time.time()
    response = client.post(f"/api/v1/runbooks/{runbook.pk}/executions/", {"block": "hello"}, format="json")
    assert response.status_code == 202, response.content
    execution_id = response.json()["id"]
    run_execution(execution_id)
    execution = Execution.objects.get(pk=execution_id)
    assert execution.status == "succeeded", execution.error
    return execution.finished_at.timestamp() - started


def bare_run(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, check=True)
    elapsed = time.perf_counter() - started
    assert result.stdout == b"hello\n", result.stdout
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="runbooks-bench-"))
    try:
        django_setup(workdir)
        flush_queue()
        # Hardened like the platform's containers, so both sides pay for the same isolation.
        docker = shutil.which("docker") or "docker"
        bare = [docker, "run", "--rm", "--network", "none", IMAGE, "sh", "-c", "echo hello"]
        user, runbook = make_runbook("echo hello")
        client = api_client(user)
        platform_run(client, runbook)  # warm-up: imports, first connections
        bare_run(bare)
        platform_times, bare_times, ratios = [], [], []
        for pair in range(args.pairs):
            if pair % 2 == 0:
                platform_time, bare_time = platform_run(client, runbook), bare_run(bare)
            else:
                bare_time, platform_time = bare_run(bare), platform_run(client, runbook)
            platform_times.append(platform_time)
            bare_times.append(bare_time)
            ratios.append(platform_time / bare_time)
            print(f"pair {pair + 1:2d}: platform {platform_time * 1000:7.1f} ms   bare {bare_time * 1000:7.1f} ms")
        print(f"median platform: {statistics.median(platform_times) * 1000:.1f} ms")
        print(f"median bare docker run --rm: {statistics.median(bare_times) * 1000:.1f} ms")
        print(f"median ratio (platform / bare) over {args.pairs} pairs: {statistics.median(ratios):.2f}")
    finally:
        try:
            flush_queue()
        except Exception as error:  # the benchmark's result matters more than this cleanup
            print(f"could not flush the bench Redis database: {error}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
