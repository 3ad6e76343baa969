"""A stop signal reaches an idle worker of `manage.py worker` whichever of its threads the kernel
hands it to.

Python runs signal handlers in the main thread only. A process-directed SIGTERM may be delivered to
any thread that does not block it; when that is not the main thread, the main thread is not woken
from the system call it is blocked in (an idle worker's BLPOP), so the handler waits for that call
to return. The pool then did not stop for the whole dequeue timeout (405 s by RQ's default): seen
in full runs and CI as "the worker pool did not stop within 120 s of SIGTERM".

The test reproduces that delivery for real: tgkill(2) sends SIGTERM to one of the worker's other
threads while its main thread sits in BLPOP.
"""

import ctypes
import os
import platform
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.live_stack import Stack

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

SYS_TGKILL = {"x86_64": 234, "aarch64": 131}


def tgkill(tgid: int, tid: int, signum: int) -> None:
    number = SYS_TGKILL.get(platform.machine())
    if number is None:
        pytest.fail(f"no tgkill syscall number known for {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(number, tgid, tid, signum) != 0:
        raise OSError(ctypes.get_errno(), f"tgkill({tgid}, {tid}, {signum})")


def catches(pid: int, signum: int) -> bool:
    """Whether `pid` has a handler of its own for `signum` (SigCgt in /proc/<pid>/status)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.M).group(1), 16)
    return bool(caught & (1 << (signum - 1)))


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for the pool to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def until(predicate, *, seconds: float, what: str, log) -> None:
    """Poll `predicate`: a process's state in /proc sends no event."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} within {seconds:g} s\n{log()}")


@pytest.fixture
def pool(tmp_path, docker_engine):
    stack = Stack(tmp_path, name="signals", redis_url=settings.REDIS_URL)
    stack.env |= {"PYTEST_XDIST_WORKER": f"signals-{uuid.uuid4().hex[:8]}"}  # queues and keys of its own
    command = [sys.executable, "manage.py", "worker", "--redis-wait", "5", "--concurrency", "1", "--name", "signals"]
    process = stack.spawn("worker", command)
    yield stack, process
    stack.stop()


def test_an_idle_worker_stops_when_another_of_its_threads_takes_the_sigterm(pool):
    stack, _ = pool
    log = lambda: stack.log("worker")  # noqa: E731
    until(lambda: re.search(r"Starting worker started with PID (\d+)", log()), seconds=60, what="no worker", log=log)
    pid = int(re.search(r"Starting worker started with PID (\d+)", log()).group(1))
    # Idle for real: RQ's handlers installed (they come after its first log lines) and the main thread in BLPOP.
    until(
        lambda: catches(pid, signal.SIGTERM) and Path(f"/proc/{pid}/wchan").read_text().startswith("poll_schedule"),
        seconds=60,
        what="the worker never waited for a job",
        log=log,
    )
    others = [int(tid) for tid in os.listdir(f"/proc/{pid}/task") if int(tid) != pid]
    assert others, "the worker has no thread besides its main one (heartbeat, warm upkeep, pubsub)"

    tgkill(pid, others[0], signal.SIGTERM)

    until(lambda: not alive(pid), seconds=60, what=f"worker {pid} did not stop", log=log)
    assert f"[PID {pid}]: warm shut down requested" in log()


def test_sigusr1_prints_every_thread_of_a_worker_and_leaves_it_running(pool):
    stack, _ = pool
    log = lambda: stack.log("worker", tail=100_000)  # noqa: E731
    until(lambda: re.search(r"Starting worker started with PID (\d+)", log()), seconds=60, what="no worker", log=log)
    pid = int(re.search(r"Starting worker started with PID (\d+)", log()).group(1))
    until(lambda: "cleaning registries" in log(), seconds=60, what="the worker never started its loop", log=log)

    os.kill(pid, signal.SIGUSR1)

    # The main thread's first frame is the worker's own entry point, wherever it is at that moment.
    until(lambda: "in _worker_process" in log(), seconds=30, what="no stack dump", log=log)
    assert "Current thread" in log() and re.search(r"^Thread 0x[0-9a-f]+", log(), re.M), log()
    assert alive(pid)


def test_the_reaper_stops_when_another_of_its_threads_takes_the_sigterm(pool):
    stack, process = pool
    log = lambda: stack.log("worker")  # noqa: E731
    until(lambda: re.search(r"Reaper started with PID (\d+)", log()), seconds=60, what="no reaper", log=log)
    pid = int(re.search(r"Reaper started with PID (\d+)", log()).group(1))
    until(lambda: len(os.listdir(f"/proc/{pid}/task")) > 1, seconds=60, what="the reaper started no thread", log=log)
    others = [int(tid) for tid in os.listdir(f"/proc/{pid}/task") if int(tid) != pid]

    tgkill(pid, others[0], signal.SIGTERM)

    # Its main thread waits on an event between rounds, at most REAP_INTERVAL_SECONDS (15 s).
    until(lambda: not alive(pid), seconds=60, what=f"reaper {pid} did not stop", log=log)
    until(lambda: "died; starting another" in log(), seconds=30, what="the pool did not replace its reaper", log=log)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the pool did not stop within 60 s of SIGTERM\n{log()}")
