"""`make run` stops cleanly on Ctrl-C: exit status 0, no "Error 130", web, worker and Redis gone.

Ctrl-C is pressed for real: make runs on a pseudo-terminal as its controlling terminal, and writing
^C to the terminal makes the kernel send SIGINT to the terminal's foreground process group, exactly
as in a person's shell.
"""

import os
import pty
import re
import select
import shutil
import signal
import socket
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WEB_PORT, REDIS_PORT = 8000, 6380
STARTUP_SECONDS, STOP_SECONDS = 90, 20


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _read(fd: int, seconds: float) -> bytes:
    ready, _, _ = select.select([fd], [], [], seconds)
    if not ready:
        return b""
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: every process holding the terminal has gone
        return b""


def _descendants(root: int) -> set[int]:
    """Every process below `root`, by parent links in /proc (Redis and the worker pool's children too)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.fixture
def make_run(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    busy = [port for port in (WEB_PORT, REDIS_PORT) if _port_open(port)]
    if busy:
        pytest.skip(f"port(s) {busy} are taken (another `make run`?); this test needs them free")
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "MAKEFLAGS", "MFLAGS")
    }
    # A fresh SQLite database and keys, as from a fresh clone; the venv is taken as installed (-o).
    env["RUNBOOKS_VAR_DIR"] = str(tmp_path / "var")
    pid, fd = pty.fork()
    if pid == 0:  # the child: session leader on the pty, like a login shell's job
        os.chdir(REPO)
        os.execvpe("make", ["make", "--no-print-directory", "-o", ".venv/.requirements-installed", "run"], env)
    seen: set[int] = set()
    yield pid, fd, seen
    # Whatever the test did, nothing it started is left behind (honcho's processes have their own
    # sessions, so killing make's group would not reach them).
    for process in sorted(seen | _descendants(pid) | {pid}):
        try:
            os.kill(process, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    os.close(fd)


def test_ctrl_c_stops_make_run_with_status_0_and_everything_stopped(make_run):
    pid, fd, seen = make_run
    output = b""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and not (_port_open(WEB_PORT) and _port_open(REDIS_PORT)):
        output += _read(fd, 0.5)
        seen |= _descendants(pid)
    assert _port_open(WEB_PORT) and _port_open(REDIS_PORT), output.decode(errors="replace")[-3000:]
    while time.monotonic() < deadline and not re.search(rb"worker\.1 +\| .*listening on queues", output):
        output += _read(fd, 0.5)
    started = set(re.findall(rb"system +\| (\w+)\.1 started \(pid=\d+\)", output))
    assert started == {b"web", b"worker", b"redis"}, output.decode(errors="replace")[-3000:]
    processes = _descendants(pid)
    seen |= processes
    assert len(processes) >= 6  # make, the wrapper, honcho, web, worker (+ its pool), Redis (+ its server)

    os.write(fd, b"\x03")  # Ctrl-C
    status = None
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline:
        output += _read(fd, 0.2)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    else:
        pytest.fail(f"make run did not stop within {STOP_SECONDS} s of Ctrl-C:\n{output.decode()[-3000:]}")
    output += _read(fd, 0.5)
    text = output.decode(errors="replace")

    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (status, text[-3000:])
    assert "make: ***" not in text
    assert "Error 130" not in text
    assert "Traceback" not in text
    assert not _port_open(WEB_PORT)
    assert not _port_open(REDIS_PORT)
    assert sorted(process for process in processes if _alive(process)) == []
