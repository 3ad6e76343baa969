"""Benchmark: runs at once with `manage.py worker --concurrency N`, and the per-runbook cap's fairness.

    .venv/bin/python bench/concurrency.py [--seconds 3] [--runs 4]

Each figure runs the real worker command as a subprocess (`--concurrency N`, its own process
group, stopped with SIGTERM afterwards) against a PostgreSQL database of its own
(BENCH_DATABASE_URL, default postgres://runbooks:runbooks@127.0.0.1/rb_bench_concurrency, created
if missing and emptied first) and a Redis database of its own (REDIS_URL, default db 12, flushed).
Runs are started through the service, as the API does, once the workers are listening; times are
the executions' own created_at / started_at / finished_at from the database.

1. baseline: one run of a `sleep S` block alone (`--concurrency 1`): its makespan, queued to finished;
2. `--runs` runs of distinct runbooks started together, at `--concurrency 1` and `--concurrency N`
   (N = --runs): each makespan, and its ratio to the baseline (target at N: ≤ 1.3);
3. fairness: runbook A started 10 times, then runbook B once, at `--concurrency 4` with the default
   cap of 2 running runs per runbook: B's wait (queued → started) against B's wait when alone.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
IMAGE = os.environ.get("BENCH_IMAGE", "runbooks-test-busybox:latest")
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://runbooks:runbooks@127.0.0.1/rb_bench_concurrency")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")


def ensure_database() -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def django_setup() -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "runbooks_site.settings.test")
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["REDIS_URL"] = REDIS_URL
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)


def flush_queue() -> None:
    from apps.executions.services import executions_queue

    executions_queue().connection.flushdb()


def make_runbooks(count: int, script: str) -> tuple:
    from django.contrib.auth import get_user_model

    from apps.executions.models import ExecutionEnvironment
    from apps.runbooks.services import runbook_create
    from apps.runbooks.versions import runbook_publish

    user = get_user_model().objects.create_user(username=f"bench-{time.time_ns()}", password="bench-password-1")
    environment = ExecutionEnvironment.objects.create(name=f"bench-{time.time_ns()}", image=IMAGE, is_default=True)
    runbooks = []
    for index in range(count):
        runbook = runbook_create(
            user=user,
            title=f"Concurrency {index}",
            environment=environment.pk,
            blocks=[{"key": "nap", "kind": "command", "config": {"script": script}}],
        )
        runbook_publish(runbook=runbook, user=user, message="bench")
        runbooks.append(runbook)
    return user, runbooks


class Worker:
    """`manage.py worker --concurrency N` in a process group of its own, on the bench database."""

    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self.prefix = f"bench-{time.time_ns()}"
        env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "manage.py", "worker", "--redis-wait", "5", "--name", self.prefix]
        self.process = subprocess.Popen(
            [*command, "--concurrency", str(concurrency)],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def __enter__(self) -> "Worker":
        import redis
        from rq import Worker as RQWorker

        connection = redis.Redis.from_url(REDIS_URL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            names = [worker.name for worker in RQWorker.all(connection=connection)]
            if sum(name.startswith(self.prefix) for name in names) == self.concurrency:
                return self
            if self.process.poll() is not None:
                raise SystemExit(f"the worker exited with {self.process.returncode}")
            time.sleep(0.2)
        raise SystemExit("the workers did not register within 120 s")

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def run_all(user, runbooks: list, concurrency: int) -> list:
    """Start one run per runbook (in this order) under a fresh worker pool; the finished executions."""
    from apps.executions.models import Execution
    from apps.executions.services import execution_start

    flush_queue()
    with Worker(concurrency):
        started = [execution_start(runbook=runbook, user=user) for runbook in runbooks]
        ids = [execution.pk for execution in started]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            done = Execution.objects.filter(pk__in=ids, finished_at__isnull=False).count()
            if done == len(ids):
                break
            time.sleep(0.1)
        else:
            raise SystemExit("the runs did not finish within 600 s")
    found = {execution.pk: execution for execution in Execution.objects.filter(pk__in=ids)}
    failed = [pk for pk in ids if found[pk].status != "succeeded"]
    if failed:
        raise SystemExit(f"runs {failed} did not succeed: {[found[pk].error for pk in failed]}")
    return [found[pk] for pk in ids]


def makespan(executions) -> float:
    return (max(e.finished_at for e in executions) - min(e.created_at for e in executions)).total_seconds()


def wait_of(execution) -> float:
    return (execution.started_at - execution.created_at).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3, help="the block's sleep (default 3)")
    parser.add_argument("--runs", type=int, default=4, help="runs started together, and N (default 4)")
    args = parser.parse_args()
    ensure_database()
    django_setup()
    user, runbooks = make_runbooks(args.runs + 1, f"sleep {args.seconds:g}")
    try:
        (alone,) = run_all(user, runbooks[:1], 1)
        baseline = makespan([alone])
        serial = makespan(run_all(user, runbooks[: args.runs], 1))
        parallel = makespan(run_all(user, runbooks[: args.runs], args.runs))
        print(f"one run alone ({args.seconds:g} s block): {baseline:.2f} s")
        print(f"{args.runs} runs, --concurrency 1: makespan {serial:.2f} s ({serial / baseline:.2f}x one run)")
        print(
            f"{args.runs} runs, --concurrency {args.runs}: makespan {parallel:.2f} s "
            f"({parallel / baseline:.2f}x one run; target <= 1.3)"
        )

        busy, other = runbooks[0], runbooks[-1]
        (b_alone,) = run_all(user, [other], 4)
        crowd = run_all(user, [busy] * 10 + [other], 4)
        b_wait, b_baseline = wait_of(crowd[-1]), wait_of(b_alone)
        print(
            f"fairness, --concurrency 4, cap 2: B's wait behind 10 queued runs of A {b_wait:.2f} s, "
            f"alone {b_baseline:.2f} s (+{b_wait - b_baseline:.2f} s); without the cap it would wait "
            f"about {10 // 4 * args.seconds:g} s or more"
        )
    finally:
        flush_queue()


if __name__ == "__main__":
    main()
