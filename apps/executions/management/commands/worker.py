"""`python manage.py worker`: RQ workers on every queue the project uses, the scheduler and the reaper.

`--concurrency N` (RUNBOOKS_WORKER_CONCURRENCY, default 4) runs up to N executions at once: RQ's
WorkerPool of N worker processes (apps.executions.workers.ExecutionWorkerPool), each running its jobs in
its own process (InProcessWorker) and keeping its own warm containers (apps.sandbox.warm),
removed when it stops; one reaper process beside them for the host. How many runs of one runbook
run together is capped separately (RUNBOOKS_MAX_RUNNING_PER_RUNBOOK, apps.executions.slots).

honcho starts the web, the worker and the embedded Redis at the same moment, so the worker waits
(bounded) for Redis instead of dying on the first refused connection.
"""

import faulthandler
import signal
import time

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_rq.jobs import get_job_class
from django_rq.queues import get_queues
from django_rq.utils import reset_db_connections
from django_rq.workers import get_exception_handlers, get_worker_class

from apps.core.redis_url import redis_url_for_display
from apps.executions.workers import ExecutionWorkerPool

RETRY_INTERVAL_SECONDS = 0.5


def wait_for_redis(url: str, timeout_seconds: float) -> str | None:
    """None once Redis answers PING; the last error's class name if it never did within the timeout."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
            return None
        except redis.RedisError as error:
            problem = type(error).__name__
        if time.monotonic() >= deadline:
            return problem
        time.sleep(RETRY_INTERVAL_SECONDS)


class Command(BaseCommand):
    help = "Run RQ workers on every queue in settings.RQ_QUEUES, with the scheduler and the reaper."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--redis-wait",
            type=float,
            default=60,
            help="Seconds to wait for Redis to answer before giving up (default 60).",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="Executions run at once, one worker process each (default RUNBOOKS_WORKER_CONCURRENCY, 4).",
        )
        parser.add_argument("--burst", action="store_true", help="Process what is queued, then exit.")
        parser.add_argument("--name", default=None, help="Prefix of the worker names (default: random names).")

    def handle(self, *args, **options) -> None:
        concurrency = options["concurrency"]
        if concurrency is None:
            concurrency = settings.RUNBOOKS_WORKER_CONCURRENCY
        if not 1 <= concurrency <= 256:
            raise CommandError(f"--concurrency must be from 1 to 256, not {concurrency}.")
        queue_names = list(settings.RQ_QUEUES)
        # Every queue shares one connection in an RQ worker; say which Redis, never its password.
        url = settings.RQ_QUEUES[queue_names[0]].get("URL", settings.REDIS_URL)
        shown = redis_url_for_display(url)
        wait = options["redis_wait"]
        self.stdout.write(f"Waiting for Redis at {shown} (up to {wait:g} s)…")
        problem = wait_for_redis(url, wait)
        if problem is not None:
            raise CommandError(
                f"Redis at {shown} did not answer within {wait:g} s ({problem}). "
                "Start Redis (`make run` starts an embedded one) or point REDIS_URL at a running one."
            )
        level = {0: "WARNING", 1: "INFO"}.get(options["verbosity"], "DEBUG")
        job_class = get_job_class()
        queues = get_queues(*queue_names, job_class=job_class)
        pool = ExecutionWorkerPool(
            queues=queues,
            connection=queues[0].connection,
            num_workers=concurrency,
            worker_class=get_worker_class(),
            job_class=job_class,
            queue_class=type(queues[0]),
            exception_handlers=get_exception_handlers() or None,
            name_prefix=options["name"],
            # In every long-running worker: runs left behind by a worker that died (even by
            # SIGKILL) are marked incomplete, and lost jobs re-created, by whichever one is alive.
            with_reaper=not options["burst"],
        )
        self.stdout.write(
            f"Worker pool of {concurrency} listening on queues: {', '.join(queue_names)} (scheduler and reaper on)."
        )
        # `kill -USR1` to the pool or any of its processes prints every thread's stack to stderr
        # (fd 2, whatever sys.stderr was replaced with): a stuck worker can be read without a
        # debugger. The forked processes inherit it.
        faulthandler.register(signal.SIGUSR1, file=2, all_threads=True)
        # The workers are forked: none may inherit this process's connections.
        reset_db_connections()
        pool.start(burst=options["burst"], logging_level=level)
