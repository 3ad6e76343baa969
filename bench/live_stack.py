"""What the live-output benchmarks share: a real daphne + worker on a throwaway database, and Chromium.

daphne serves HTTP and WebSocket as in production (`daphne runbooks_site.asgi:application`);
`manage.py worker` runs the engine. Both use a fresh SQLite file in a temporary directory, a Redis
database of their own (BENCH_REDIS_URL, default redis://127.0.0.1:6379/11, flushed) and a
channel-layer prefix of their own, so nothing else on the machine interferes with them.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

BASE_DIR = Path(__file__).resolve().parent.parent
IMAGE = os.environ.get("BENCH_IMAGE", "runbooks-test-busybox:latest")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

SETTINGS = """
from runbooks_site.settings.test import *  # noqa
CHANNEL_LAYERS = {{"default": {{"BACKEND": "channels_redis.core.RedisChannelLayer",
                  "CONFIG": {{"hosts": [REDIS_URL], "prefix": "{prefix}"}}}}}}
WHITENOISE_USE_FINDERS = True
"""

SETUP = """
import json
from django.contrib.auth import get_user_model
from apps.environments.models import ExecutionEnvironment
from apps.runbooks.services.runbooks import runbook_create
from apps.runbooks.versions import runbook_publish

user = get_user_model().objects.create_user(username="bench", password="bench-password-1")
environment = ExecutionEnvironment.objects.create(name="bench", image={image!r}, memory_mb=256, timeout_seconds=600)
runbook = runbook_create(user=user, title="Bench", environment=environment.pk,
                         blocks=[{{"key": "main", "kind": "command", "config": {{"script": {script!r}}}}}])
runbook_publish(runbook=runbook, user=user, message="v1")
print("SETUP" + json.dumps({{"runbook": runbook.pk}}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveStack:
    def __init__(self, script: str, *, warm: bool = True):
        self.workdir = Path(tempfile.mkdtemp(prefix="runbooks-bench-"))
        (self.workdir / "bench_settings.py").write_text(SETTINGS.format(prefix=f"bench-{uuid.uuid4().hex[:8]}"))
        self.env = {
            **os.environ,
            "PYTHONPATH": f"{self.workdir}{os.pathsep}{BASE_DIR}",
            "DJANGO_SETTINGS_MODULE": "bench_settings",
            "DATABASE_URL": f"sqlite:///{self.workdir / 'bench.sqlite3'}",
            "REDIS_URL": REDIS_URL,
            "PYTHONUNBUFFERED": "1",
            # As in production (settings/base.py) unless a benchmark measures the cold path.
            "RUNBOOKS_WARM_CONTAINERS": "1" if warm else "0",
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}
        self.script = script

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=self.env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SystemExit(result.stderr[-3000:])
        return result.stdout

    def __enter__(self) -> "LiveStack":
        redis.Redis.from_url(REDIS_URL).flushdb()
        self.manage("migrate", "--no-input")
        self.runbook = json.loads(
            self.manage("shell", "-c", SETUP.format(image=IMAGE, script=self.script)).split("SETUP", 1)[1]
        )["runbook"]
        for name, command in (
            (
                "daphne",
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "runbooks_site.asgi:application",
                ],
            ),
            (
                "worker",
                [sys.executable, "manage.py", "worker", "--redis-wait", "5", "--name", f"bench-{uuid.uuid4().hex[:6]}"],
            ),
        ):
            log = (self.workdir / f"{name}.log").open("w")
            self.processes[name] = subprocess.Popen(
                command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("daphne did not start: " + (self.workdir / "daphne.log").read_text()[-2000:])
                time.sleep(0.2)
        time.sleep(2)  # the worker connects to Redis and registers
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        redis.Redis.from_url(REDIS_URL).flushdb()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def signed_in_page(self, playwright):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=self.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(120000)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("input[name=username]", "bench")
        page.fill("input[name=password]", "bench-password-1")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return browser, page


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and its descendants."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, StopIteration, ValueError):
            continue
    return total


def _field_kib(pid: int, field: str) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith(field)))
    except (FileNotFoundError, ProcessLookupError, StopIteration, ValueError):
        return 0


def _tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def largest_rss_kib(pid: int) -> int:
    """The largest current RSS of one process in the tree."""
    return max((_field_kib(member, "VmRSS:") for member in _tree(pid)), default=0)


def peak_rss_kib(pid: int) -> int:
    """The largest single process of the tree at its peak (VmHWM), which is what a memory limit sees."""
    best = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            best = max(best, int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, StopIteration, ValueError):
            continue
    return best
