"""The Docker engine as this process reaches it: the client factory, one shared client per
process, the engine's runtimes, and the reachability check of the worker's health."""

import os
import threading
import time

import docker
import requests
from django.conf import settings
from docker.errors import DockerException


class DockerUnavailable(Exception):
    """The Docker engine cannot be reached; the message names where it was looked for."""


def docker_client(timeout: int = 5) -> docker.DockerClient:
    # from_env also reads DOCKER_TLS_VERIFY and DOCKER_CERT_PATH: a tcp:// DOCKER_HOST must use TLS,
    # never plain unauthenticated HTTP to a remote engine.
    environment = dict(os.environ)
    if settings.DOCKER_HOST:
        environment["DOCKER_HOST"] = settings.DOCKER_HOST
    return docker.from_env(timeout=timeout, environment=environment)


def check_docker() -> str | None:
    """None when the engine answers a ping; otherwise the error's class name (never its message:
    a DOCKER_HOST may carry credentials)."""
    try:
        client = docker_client(timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as error:
        return f"{type(error).__name__}"
    return None


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
