"""`python manage.py worker`: one RQ worker on every queue the project uses, the scheduler and the reaper.

Jobs run in this process (apps.core.workers.InProcessWorker, settings.RQ["WORKER_CLASS"]), which
also keeps the warm containers (apps.executions.warm); they are removed when the worker stops.

honcho starts the web, the worker and the embedded Redis at the same moment, so the worker waits
(bounded) for Redis instead of dying on the first refused connection.
"""

import time

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_rq.utils import reset_db_connections
from django_rq.workers import get_worker

from apps.core.redis_url import redis_url_for_display

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
    help = "Run an RQ worker on every queue in settings.RQ_QUEUES, with the scheduler enabled."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--redis-wait",
            type=float,
            default=60,
            help="Seconds to wait for Redis to answer before giving up (default 60).",
        )
        parser.add_argument("--burst", action="store_true", help="Process what is queued, then exit.")
        parser.add_argument("--name", default=None, help="Worker name (default: RQ's host.pid name).")

    def handle(self, *args, **options) -> None:
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
        worker = get_worker(*queue_names, name=options["name"])
        self.stdout.write(f"Worker {worker.name} listening on queues: {', '.join(queue_names)} (scheduler on).")
        # The worker class may still fork (settings.RQ): no job inherits this process's connections.
        reset_db_connections()
        stop_reaper = None
        if not options["burst"]:
            # In every long-running worker, from its start: runs left behind by a worker that died
            # (even by SIGKILL) are marked incomplete by whichever worker is alive or starts next.
            from apps.executions.reaper import reaper_start

            stop_reaper = reaper_start()
        try:
            worker.work(burst=options["burst"], with_scheduler=True, logging_level=level)
        finally:
            if stop_reaper is not None:
                stop_reaper.set()
            from apps.executions.warm import pool

            pool.shutdown()
