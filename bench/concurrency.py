"""Benchmark: runs at once with `manage.py worker --concurrency N`, and the per-runbook cap's fairness.

    .venv/bin/python bench/concurrency.py [--seconds 5] [--runs 8] [--throughput 100]

Each figure runs the real worker command as a subprocess (`--concurrency N`, its own process
group, stopped with SIGTERM afterwards) against a PostgreSQL database of its own
(BENCH_DATABASE_URL, default postgres://runbooks:runbooks@127.0.0.1/rb_bench_concurrency, created
if missing and emptied first) and a Redis database of its own (REDIS_URL, default db 12, flushed).
Runs are started through the service, as the API does, once the workers are listening; times are
the executions' own created_at / started_at / finished_at from the database.

1. baseline: one run of a `sleep S` block alone (`--concurrency 1`): its makespan, queued to finished;
2. (a) `--runs` runs of distinct runbooks started together, at `--concurrency 1` and `--concurrency N`
   (N = --runs): each makespan, and its ratio to the baseline (target at N: ≤ 1.3);
3. (b) `--throughput` runs of an `echo hi` block queued at once, at `--concurrency 1, 4, 8`: runs per
   minute, against the same number of containers with the same hardening started bare by
   `xargs -P 8 docker run --rm` (target at 8: ≥ 0.8× the bare rate);
4. (c) worker memory: the summed RSS of the worker command's process group, idle and at its peak
   while the `--runs` runs of (a) run at once, per concurrent run;
5. fairness: runbook A started 10 times, then runbook B once, at `--concurrency 4` with the default
   cap of 2 running runs per runbook: B's wait (queued → started) against B's wait when alone.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import django
import psutil
import psycopg
import redis
from django.core.management import call_command
from rq import Worker as RQWorker

BASE_DIR = Path(__file__).resolve().parent.parent
IMAGE = os.environ.get("BENCH_IMAGE", "runbooks-test-busybox:latest")
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://runbooks:runbooks@127.0.0.1/rb_bench_concurrency")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")


def ensure_database() -> None:
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
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("flush", verbosity=0, interactive=False)


def flush_queue() -> None:
    # Imported after django_setup(): the apps need the settings it chose and a loaded app registry.
    from apps.executions.queue import executions_queue

    executions_queue().connection.flushdb()


def make_runbooks(count: int, script: str) -> tuple:
    # Imported after django_setup(): the apps need the settings it chose and a loaded app registry.
    from django.contrib.auth import get_user_model

    from apps.environments.models import ExecutionEnvironment
    from apps.runbooks.services.runbooks import runbook_create
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

    def rss(self) -> int:
        """Bytes resident in the worker command's process group (the pool, its workers, the reaper)."""
        total = 0
        for process in psutil.process_iter(["pid"]):
            try:
                if os.getpgid(process.pid) == self.process.pid:
                    total += process.memory_info().rss
            except (ProcessLookupError, psutil.Error):
                continue
        return total

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def run_all(user, runbooks: list, concurrency: int, memory: dict | None = None) -> list:
    """Start one run per runbook (in this order) under a fresh worker pool; the finished executions.
    With `memory`, it gets the pool's idle and peak RSS (bytes) while the runs ran."""
    # Imported after django_setup(): the apps need the settings it chose and a loaded app registry.
    from apps.executions.models import Execution
    from apps.executions.services.start import execution_start

    flush_queue()
    with Worker(concurrency) as worker:
        sampler = None
        if memory is not None:
            memory["idle"] = memory["peak"] = worker.rss()
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.2):
                    memory["peak"] = max(memory["peak"], worker.rss())

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
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
        if sampler is not None:
            stop.set()
            sampler.join()
    found = {execution.pk: execution for execution in Execution.objects.filter(pk__in=ids)}
    failed = [pk for pk in ids if found[pk].status != "succeeded"]
    if failed:
        raise SystemExit(f"runs {failed} did not succeed: {[found[pk].error for pk in failed]}")
    return [found[pk] for pk in ids]


def makespan(executions) -> float:
    return (max(e.finished_at for e in executions) - min(e.created_at for e in executions)).total_seconds()


def wait_of(execution) -> float:
    return (execution.started_at - execution.created_at).total_seconds()


def bare_rate(count: int) -> float:
    """Runs per minute of `count` hardened `echo hi` containers started by `xargs -P 8 docker run --rm`."""
    flags = (
        "--network none --read-only --cap-drop ALL --security-opt no-new-privileges --pids-limit 64 "
        "--memory 128m --user 65534:65534"
    )
    began = time.monotonic()
    subprocess.run(
        f"seq {count} | xargs -P 8 -I{{}} docker run --rm {flags} {IMAGE} echo hi",
        shell=True, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return count / (time.monotonic() - began) * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5, help="the block's sleep (default 5)")
    parser.add_argument("--runs", type=int, default=8, help="runs started together, and N (default 8)")
    parser.add_argument("--throughput", type=int, default=100, help="echo runs queued at once (default 100)")
    args = parser.parse_args()
    ensure_database()
    django_setup()
    user, runbooks = make_runbooks(args.runs + 1, f"sleep {args.seconds:g}")
    _, echoes = make_runbooks(args.throughput, "echo hi")
    try:
        (alone,) = run_all(user, runbooks[:1], 1)
        baseline = makespan([alone])
        serial = makespan(run_all(user, runbooks[: args.runs], 1))
        memory: dict = {}
        parallel = makespan(run_all(user, runbooks[: args.runs], args.runs, memory))
        print(f"one run alone ({args.seconds:g} s block): {baseline:.2f} s")
        print(f"{args.runs} runs, --concurrency 1: makespan {serial:.2f} s ({serial / baseline:.2f}x one run)")
        print(
            f"{args.runs} runs, --concurrency {args.runs}: makespan {parallel:.2f} s "
            f"({parallel / baseline:.2f}x one run; target <= 1.3)"
        )
        mib = 1024 * 1024
        print(
            f"worker memory, --concurrency {args.runs}: idle {memory['idle'] / mib:.0f} MiB, peak with {args.runs} "
            f"runs {memory['peak'] / mib:.0f} MiB, {(memory['peak'] - memory['idle']) / mib / args.runs:.1f} MiB "
            "per concurrent run"
        )

        bare = bare_rate(args.throughput)
        print(f"{args.throughput} echo containers, bare xargs -P 8 docker run --rm: {bare:.0f} runs/min")
        for concurrency in (1, 4, 8):
            rate = args.throughput / makespan(run_all(echoes[0].owner, echoes, concurrency)) * 60
            print(
                f"{args.throughput} echo runs, --concurrency {concurrency}: {rate:.0f} runs/min ({rate / bare:.2f}x bare)"
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
