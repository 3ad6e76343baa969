"""Running one step in one hardened, throw-away container, through the docker SDK.

The container (apps.sandbox.spec) waits for its stdin: this module attaches to it, sends the
step's tar, half-closes, and copies the output (one stream, stderr joined to stdout) to the
step's sink until the container exits, the step times out or it is cancelled. A started spare of
the warm pool (apps.sandbox.warm) is used when there is one, so a step does not wait for Docker
to start a container (≈300 ms here).
"""

import codecs
import select
import socket
import struct
import time
from collections.abc import Callable

import docker
import requests
from docker.errors import DockerException, ImageNotFound

from apps.sandbox.client import (
    DockerUnavailable,
    forget_shared_client,
    runtime_problem,
    shared_client,
    unreachable_message,
)
from apps.sandbox.containers import remove_later
from apps.sandbox.spec import ContainerResult, ContainerSpec, InvalidEnvironment, create_container, step_payload
from apps.sandbox.warm import pool

# How long a quiet step waits before the sink may store what it batched: short, so the tail of a
# burst reaches the page within ~50 ms instead of waiting for the next output.
READ_POLL_SECONDS = 0.05
STREAM_NAMES = {1: "stdout", 2: "stderr"}

# What the step context hands an executor (apps.blocks.executors.base.StepContext.run_container).
ContainerRunner = Callable[..., ContainerResult]


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


def _refusal(spec: ContainerSpec) -> tuple[bytes, docker.DockerClient | None, ContainerResult | None]:
    """The step's payload and this process's client, or the failed result that stops it first."""
    try:
        payload = step_payload(spec)
    except InvalidEnvironment as error:
        return b"", None, ContainerResult(status="failed", error=str(error))
    try:
        client = shared_client()
        problem = runtime_problem(spec.runtime, client) if spec.runtime != "runc" else None
    except DockerUnavailable as error:
        return payload, None, ContainerResult(status="failed", error=str(error))
    if problem:
        return payload, client, ContainerResult(status="failed", error=problem)
    return payload, client, None


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
    payload, client, refused = _refusal(spec)
    if refused is not None:
        return refused
    container = None
    try:
        container = pool.take(client, spec)
        started = container is not None
        if container is None:
            try:
                container = create_container(client, spec, dict(spec.labels))
            except ImageNotFound:
                return ContainerResult(status="failed", error=f"Image {spec.image} not found on the Docker engine")
        if on_container is not None:
            on_container(container.id)
        stopped = _feed_and_read(
            container, payload, started=started, spec=spec, write=write, is_cancelled=is_cancelled,
            on_output_end=on_output_end,
        )  # fmt: skip
        if stopped:
            _kill(container)
            return ContainerResult(status=stopped, error=_stop_message(stopped, spec), container_id=container.id)
        return _exit_result(container, spec)
    except (requests.exceptions.ConnectionError, DockerUnavailable):
        forget_shared_client()
        return ContainerResult(status="failed", error=unreachable_message())
    except DockerException as error:
        return ContainerResult(status="failed", error=f"Docker refused the step: {_short(error)}")
    finally:
        if container is not None:
            remove_later(container)
        pool.refill(client, spec)


def _feed_and_read(
    container, payload: bytes, *, started: bool, spec: ContainerSpec, write, is_cancelled, on_output_end
):
    """Send the step's tar on stdin and copy its output; "timed_out" or "cancelled" if it was stopped."""
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
        return stopped
    finally:
        try:
            attached.close()
        except OSError:
            pass


def _exit_result(container, spec: ContainerSpec) -> ContainerResult:
    """The step's result from the container's exit: its code, and whether memory ran out."""
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
