"""One hardened, throw-away container per command step, through the docker SDK.

Neither the script nor the step's variables appear on a command line or in the container's
configuration (they would show in `docker inspect`, `ps` and the engine's logs): the container
runs a fixed bootstrap that reads a tar stream from stdin into tmpfs (the script and an env file
under /tmp/.rb, secrets under /run/secrets), exports the env file and execs the shell on the
script. The script's stderr is joined to its stdout in the container: Docker copies two pipes in
two goroutines, which can reorder lines between them; one pipe keeps the exact order.

Because everything step-specific arrives on stdin, a container can be created and started before
its step exists: apps.executions.warm keeps such spares, each blocked in `tar` until a step claims
it, so a step does not wait for Docker to start a container (≈300 ms here).
"""

import codecs
import hashlib
import io
import os
import re
import select
import socket
import struct
import tarfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import docker
import requests
from django.conf import settings
from docker.errors import DockerException, ImageNotFound, NotFound

from apps.core.health import docker_client

BOOTSTRAP = (
    "set -e; umask 077; tar -x -f - -C /; "
    'if [ -n "$(ls -A /run/secrets)" ]; then chmod 0400 /run/secrets/*; fi; '
    "set -a; . /tmp/.rb/env; set +a; "
    'cd /tmp; exec "$1" /tmp/.rb/script </dev/null 2>&1'
)
SCRIPT_PATH = "tmp/.rb/script"
ENV_PATH = "tmp/.rb/env"
# What `export`/`set -a` accepts as a name; the env file refuses anything else.
SHELL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRETS_DIR = "run/secrets"
USER = "65534:65534"
TMPFS = {
    "/tmp": "rw,nosuid,nodev,size=64m",  # noqa: S108 - a fresh tmpfs inside the container, not the host's /tmp
    "/run/secrets": "rw,nosuid,nodev,size=1m,mode=0700,uid=65534,gid=65534",
}
# How long a quiet step waits before the sink may store what it batched: short, so the tail of a
# burst reaches the page within ~50 ms instead of waiting for the next output.
READ_POLL_SECONDS = 0.05
STREAM_NAMES = {1: "stdout", 2: "stderr"}


INSTANCE_LABEL = "runbooks.instance"


def instance_id() -> str:
    """Names this installation's database, so a reaper never touches another installation's
    containers on a shared Docker engine."""
    from django.db import connection

    database = connection.settings_dict
    identity = "|".join(str(database.get(key) or "") for key in ("ENGINE", "HOST", "PORT", "NAME"))
    name = str(database.get("NAME") or "")
    if name == ":memory:" or "mode=memory" in name:
        # An in-memory database (tests) belongs to one process: so do its containers.
        identity += f"|{os.getpid()}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]


class DockerUnavailable(Exception):
    """The Docker engine cannot be reached; the message names where it was looked for."""


RUNTIMES_CACHE_SECONDS = 30
_runtimes_cache: dict = {}


def engine_runtimes(client: docker.DockerClient | None = None) -> set[str]:
    """The OCI runtimes the Docker engine reports (`docker info` → Runtimes), asked at most every
    RUNTIMES_CACHE_SECONDS per engine. Raises DockerUnavailable."""
    location = docker_location()
    cached = _runtimes_cache.get(location)
    if cached and time.monotonic() - cached[0] < RUNTIMES_CACHE_SECONDS:
        return cached[1]
    try:
        info = (client or connect(timeout=10)).info()
    except (DockerException, requests.exceptions.RequestException, OSError):
        raise DockerUnavailable(unreachable_message()) from None
    runtimes = set((info.get("Runtimes") or {}).keys()) | {"runc"}
    _runtimes_cache[location] = (time.monotonic(), runtimes)
    return runtimes


def runtime_problem(runtime: str, client: docker.DockerClient | None = None) -> str | None:
    """Why a container of this runtime cannot start on the engine, or None. Raises DockerUnavailable."""
    runtimes = engine_runtimes(client)
    if runtime in runtimes:
        return None
    return (
        f"The Docker engine at {docker_location()} has no “{runtime}” runtime (it has: "
        f"{', '.join(sorted(runtimes))}). Register it in /etc/docker/daemon.json (docs/operations.md) "
        "or choose another runtime for the environment."
    )


def docker_location() -> str:
    return settings.DOCKER_HOST or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def unreachable_message() -> str:
    return f"Docker engine not reachable at {docker_location()}"


def connect(timeout: int = 30) -> docker.DockerClient:
    try:
        client = docker_client(timeout=timeout)
        client.ping()
    except (DockerException, requests.exceptions.RequestException, OSError):
        raise DockerUnavailable(unreachable_message()) from None
    return client


_shared_lock = threading.Lock()
_shared: dict = {"owner": None, "client": None}


def shared_client() -> docker.DockerClient:
    """This process's Docker client, made (and pinged) once: a new client costs two round trips to
    the engine (its API version, then a ping) on every step. Forgotten after a connection error,
    so a restarted engine is found again; a forked child (or another DOCKER_HOST) makes its own."""
    owner = (os.getpid(), docker_location())
    with _shared_lock:
        if _shared["owner"] != owner or _shared["client"] is None:
            _shared.update(owner=None, client=None)
            _shared.update(owner=owner, client=connect())
        return _shared["client"]


def forget_shared_client() -> None:
    with _shared_lock:
        client, owner = _shared["client"], _shared["owner"]
        _shared.update(owner=None, client=None)
    if client is not None and owner and owner[0] == os.getpid():
        try:
            client.close()
        except Exception:  # noqa: S110 - a broken client is being dropped anyway
            pass


def labelled_containers(label: str) -> list:
    """This installation's containers carrying `label`, running or not."""
    client = shared_client()
    try:
        return client.containers.list(all=True, filters={"label": [label, f"{INSTANCE_LABEL}={instance_id()}"]})
    except (DockerException, requests.exceptions.RequestException):
        forget_shared_client()
        raise DockerUnavailable(unreachable_message()) from None


def remove_container(container) -> None:
    """Kill (if running) and remove; a container already gone is fine."""
    try:
        container.remove(force=True)
    except NotFound:
        pass
    except (DockerException, requests.exceptions.RequestException):
        pass


_removals: list[threading.Thread] = []
_removals_lock = threading.Lock()


def remove_later(container) -> None:
    """Remove the container in the background: the step's result is known once the exit code is
    read, so it is recorded without waiting for Docker to tear the container down. The engine
    waits for these before it lets go of the run (wait_for_removals); the reaper removes whatever
    a dead worker left behind."""

    def remove() -> None:
        remove_container(container)

    thread = threading.Thread(target=remove, name=f"remove-{container.id[:12]}", daemon=True)
    with _removals_lock:
        _removals.append(thread)
    thread.start()


def wait_for_removals(timeout: float = 60) -> None:
    with _removals_lock:
        pending, _removals[:] = list(_removals), []
    deadline = time.monotonic() + timeout
    for thread in pending:
        thread.join(max(0.0, deadline - time.monotonic()))


def secret_env_name(name: str) -> str:
    return "RB_SECRET_" + "".join(char if char.isascii() and char.isalnum() else "_" for char in name).upper() + "_FILE"


class InvalidEnvironment(ValueError):
    """A variable the env file cannot carry; the message names it."""


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def env_file(env: dict[str, str]) -> str:
    """`NAME='value'` lines for the bootstrap to export (set -a): any text but NUL survives quoting."""
    lines = []
    for name, value in env.items():
        if not SHELL_NAME_RE.match(name):
            raise InvalidEnvironment(f"Environment variable name “{name[:80]}” is not a valid shell name.")
        if "\x00" in value:
            raise InvalidEnvironment(f"Environment variable {name} contains a NUL character.")
        lines.append(f"{name}={_shell_quote(value)}\n")
    return "".join(lines)


def build_payload(script: str, secrets: dict[str, str], env: dict[str, str] | None = None) -> bytes:
    """The tar stream the bootstrap unpacks at /: the script, the env file, and each secret as a
    0400 file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        directory = tarfile.TarInfo("tmp/.rb")
        directory.type, directory.mode = tarfile.DIRTYPE, 0o700
        archive.addfile(directory)
        entries = [(SCRIPT_PATH, script.encode("utf-8"), 0o500), (ENV_PATH, env_file(env or {}).encode("utf-8"), 0o400)]
        entries += [(f"{SECRETS_DIR}/{name}", value.encode("utf-8"), 0o400) for name, value in secrets.items()]
        for path, data, mode in entries:
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class ContainerSpec:
    image: str
    script: str
    shell: str = "sh"
    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    network: str = "none"
    memory_mb: int = 256
    cpus: float = 1.0
    pids_limit: int = 128
    timeout_seconds: int = 300
    labels: dict[str, str] = field(default_factory=dict)
    # The OCI runtime: runc (Docker's default) or runsc (gVisor, a user-space kernel between the
    # step and the host's), per environment.
    runtime: str = "runc"


@dataclass
class ContainerResult:
    status: str  # succeeded, failed, timed_out, cancelled
    exit_code: int | None = None
    error: str = ""
    container_id: str = ""


# Under runsc the container's pids cgroup holds gVisor's Sentry, not the step's processes: those are
# tasks inside the sandbox, but the Sentry (a Go program) needs host threads for them, about eight
# per process blocked in a syscall, plus some forty of its own. Held to the environment's pids_limit
# as is, the Sentry could not make a thread and died with the Go runtime's exit status 2, silently
# (no output, even `docker logs` empty): every step of a 64-pid environment "failed: exit code 2".
# The limit is scaled so the step gets roughly its pids_limit of processes; a fork bomb still ends
# at the cgroup's limit, the sandbox dying instead of `fork` failing.
RUNSC_THREADS_PER_PROCESS = 10
RUNSC_SENTRY_THREADS = 64


def host_pids_limit(spec: ContainerSpec) -> int:
    if spec.runtime == "runsc":
        return spec.pids_limit * RUNSC_THREADS_PER_PROCESS + RUNSC_SENTRY_THREADS
    return spec.pids_limit


def host_config_kwargs(spec: ContainerSpec) -> dict:
    """The hardened host settings every step container gets (DESIGN.md, `command`); no binds, ever."""
    memory = f"{spec.memory_mb}m"
    return {
        "network_mode": "bridge" if spec.network == "bridge" else "none",
        "read_only": True,
        "tmpfs": dict(TMPFS),
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "pids_limit": host_pids_limit(spec),
        "mem_limit": memory,
        # Equal to the memory limit: no swap, so a memory hog is killed rather than thrashing.
        "memswap_limit": memory,
        "nano_cpus": int(spec.cpus * 1_000_000_000),
        "auto_remove": False,
        "privileged": False,
        "runtime": spec.runtime or "runc",
    }


class _Demultiplexer:
    """Docker's attach stream: frames of an 8-byte header (stream, 0, 0, 0, size) and the payload."""

    def __init__(self, write: Callable[[str], None]):
        self.write = write
        self.buffer = b""
        self.decoders = {number: codecs.getincrementaldecoder("utf-8")(errors="replace") for number in (1, 2)}

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 8:
            stream, size = struct.unpack(">BxxxL", self.buffer[:8])
            if len(self.buffer) < 8 + size:
                return
            payload, self.buffer = self.buffer[8 : 8 + size], self.buffer[8 + size :]
            decoder = self.decoders.get(stream)
            if decoder is not None:
                text = decoder.decode(payload)
                if text:
                    self.write(text)

    def close(self) -> None:
        for decoder in self.decoders.values():
            text = decoder.decode(b"", final=True)
            if text:
                self.write(text)


def _raw_socket(attached) -> socket.socket:
    return getattr(attached, "_sock", attached)


def create_container(client: docker.DockerClient, spec: ContainerSpec, labels: dict[str, str], name: str | None = None):
    """A hardened container of the spec, created (not started) with the bootstrap waiting for stdin."""
    # detach=False with stdin_open sets StdinOnce: the engine turns our half-close into EOF.
    created = client.api.create_container(
        spec.image,
        command=["/bin/sh", "-c", BOOTSTRAP, "runbooks-bootstrap", spec.shell],
        # No working_dir: Docker would create /tmp root-owned 0755 under the tmpfs mount.
        user=USER,
        labels=labels,
        name=name,
        stdin_open=True,
        detach=False,
        tty=False,
        host_config=client.api.create_host_config(**host_config_kwargs(spec)),
    )
    # A model from the id alone: no inspect round trip before the step can start.
    return client.containers.prepare_model({"Id": created["Id"]})


def run_container(
    spec: ContainerSpec,
    *,
    write: Callable[[str], None],
    is_cancelled: Callable[[], bool],
    on_container: Callable[[str], None] | None = None,
    on_output_end: Callable[[], None] | None = None,
) -> ContainerResult:
    """Run the script in a fresh container (a started spare if the pool has one, else a new one)
    and remove it afterwards, whatever happens. on_output_end is called when the output stream
    ends, before waiting for the container's exit code: what was batched is stored without that wait."""
    from apps.executions import warm

    try:
        environment = dict(spec.env)
        for name in spec.secrets:
            environment[secret_env_name(name)] = f"/run/secrets/{name}"
        payload = build_payload(spec.script, spec.secrets, environment)
    except InvalidEnvironment as error:
        return ContainerResult(status="failed", error=str(error))
    try:
        client = shared_client()
        problem = runtime_problem(spec.runtime, client) if spec.runtime != "runc" else None
    except DockerUnavailable as error:
        return ContainerResult(status="failed", error=str(error))
    if problem:
        return ContainerResult(status="failed", error=problem)
    container = None
    try:
        container = warm.pool.take(client, spec)
        started = container is not None
        if container is None:
            try:
                container = create_container(client, spec, dict(spec.labels))
            except ImageNotFound:
                return ContainerResult(status="failed", error=f"Image {spec.image} not found on the Docker engine")
        if on_container is not None:
            on_container(container.id)
        # Attached before start (a spare prints nothing before its stdin arrives): not a byte is missed.
        attached = container.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        raw = _raw_socket(attached)
        try:
            if not started:
                container.start()
            deadline = time.monotonic() + spec.timeout_seconds
            raw.sendall(payload)
            # Half-close: with stdin_once the engine closes the container's stdin, so tar sees EOF.
            raw.shutdown(socket.SHUT_WR)
            stopped = _pump(raw, write=write, deadline=deadline, is_cancelled=is_cancelled)
            if not stopped and on_output_end is not None:
                on_output_end()
        finally:
            try:
                attached.close()
            except OSError:
                pass
        if stopped:
            _kill(container)
            return ContainerResult(status=stopped, error=_stop_message(stopped, spec), container_id=container.id)
        state = container.wait(timeout=30)
        exit_code = int(state.get("StatusCode", -1))
        if exit_code == 0:
            return ContainerResult(status="succeeded", exit_code=0, container_id=container.id)
        container.reload()
        if container.attrs.get("State", {}).get("OOMKilled"):
            return ContainerResult(
                status="failed",
                exit_code=exit_code,
                error=f"Out of memory (limit {spec.memory_mb} MiB)",
                container_id=container.id,
            )
        return ContainerResult(status="failed", exit_code=exit_code, container_id=container.id)
    except (requests.exceptions.ConnectionError, DockerUnavailable):
        forget_shared_client()
        return ContainerResult(status="failed", error=unreachable_message())
    except DockerException as error:
        return ContainerResult(status="failed", error=f"Docker refused the step: {_short(error)}")
    finally:
        if container is not None:
            remove_later(container)
        warm.pool.refill(client, spec)


def _stop_message(stopped: str, spec: ContainerSpec) -> str:
    if stopped == "timed_out":
        return f"Timed out after {spec.timeout_seconds} s; the container was killed."
    return "Cancelled; the container was killed."


def _short(error: Exception) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)[:500]


def _kill(container) -> None:
    try:
        container.kill()
    except (DockerException, requests.exceptions.RequestException):
        pass


def _pump(raw: socket.socket, *, write, deadline: float, is_cancelled) -> str | None:
    """Copy output until the stream ends; "timed_out" or "cancelled" if the step had to be stopped."""
    demux = _Demultiplexer(write)
    try:
        while True:
            if time.monotonic() >= deadline:
                return "timed_out"
            if is_cancelled():
                return "cancelled"
            readable, _, _ = select.select([raw], [], [], READ_POLL_SECONDS)
            if not readable:
                write("")  # lets the sink store what it batched while the step is quiet
                continue
            data = raw.recv(65536)
            if not data:
                return None
            demux.feed(data)
    finally:
        demux.close()
