"""A real daphne (HTTP + WebSocket) and a real worker as subprocesses, for browser tests that need
the live socket: pytest-django's live_server speaks WSGI only.

They run on the test database (PostgreSQL) or on a migrated file SQLite database of their own, with
a Redis database and a channel-layer prefix that no other test uses.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]

SETTINGS = """
from runbooks_site.settings.test import *  # noqa
CHANNEL_LAYERS = {{"default": {{"BACKEND": "channels_redis.core.RedisChannelLayer",
                  "CONFIG": {{"hosts": [channel_layer_host(REDIS_URL)], "prefix": "{prefix}"}}}}}}
WHITENOISE_USE_FINDERS = True  # static files straight from the apps: no collectstatic for a test
{extra}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str | None:
    """The test database for PostgreSQL; None for SQLite (the stack then migrates a file database)."""
    if connection.vendor != "postgresql":
        return None
    settings_dict = connection.settings_dict
    return "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(
        **{key: settings_dict.get(key) or "" for key in ("USER", "PASSWORD", "HOST", "NAME")},
        PORT=settings_dict.get("PORT") or 5432,
    )


class Stack:
    """daphne + a worker on one database; `manage(...)` runs management commands against it."""

    def __init__(self, tmp_path: Path, *, name: str, redis_url: str, extra_settings: str = ""):
        self.tmp_path, self.name = tmp_path, name
        self.processes: list[subprocess.Popen] = []
        module = f"{name}_test_settings"
        prefix = f"{name}-test-{uuid.uuid4().hex[:10]}"
        (tmp_path / f"{module}.py").write_text(SETTINGS.format(prefix=prefix, extra=extra_settings))
        url = database_url() or f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        self.env = {
            **os.environ,
            "PYTHONPATH": f"{tmp_path}{os.pathsep}{BASE_DIR}",
            "DJANGO_SETTINGS_MODULE": module,
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "PYTHONUNBUFFERED": "1",
        }
        if url.startswith("sqlite"):
            self.manage("migrate", "--no-input", timeout=300)
        self.use_new_port()

    def use_new_port(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def manage(self, *args, timeout: float = 120) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def spawn(self, name: str, command: list[str], *, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start `command` in its own session, logging to `<name>.log`; `env` adds to the stack's environment."""
        log = (self.tmp_path / f"{name}.log").open("w")
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def log(self, name: str, *, tail: int = 3000) -> str:
        return (self.tmp_path / f"{name}.log").read_text()[-tail:]

    def start(self) -> None:
        daphne = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
        self.spawn("daphne", [*daphne, "runbooks_site.asgi:application"])
        worker_name = f"{self.name}-{uuid.uuid4().hex[:8]}"
        self.spawn("worker", [sys.executable, "manage.py", "worker", "--redis-wait", "5", "--name", worker_name])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)  # nothing to await: daphne announces readiness only by listening
        pytest.fail("daphne did not start:\n" + self.log("daphne"))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes = []
