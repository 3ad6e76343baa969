"""Worker heartbeats in Redis: what each worker process last saw of the Docker engine.

The web process has no Docker socket (compose.yaml), so it cannot ask the engine itself: every
worker process writes a heartbeat every HEARTBEAT_SECONDS with the result of its own Docker check,
and /healthz reads them. A heartbeat older than HEARTBEAT_TTL_SECONDS is no worker: Redis drops the
key at its TTL, and the reader also compares the time it carries with its own clock.
"""

import json
import time
from dataclasses import dataclass

import redis
from django.conf import settings

HEARTBEAT_SECONDS = 10
# Three beats: one missed write (a slow Redis, a busy host) does not count a live worker as gone.
HEARTBEAT_TTL_SECONDS = 30


@dataclass(frozen=True)
class WorkerHeartbeat:
    worker: str
    at: float  # epoch seconds
    docker: str | None  # None when the worker reached the Docker engine, else the error's class name


def heartbeat_connection() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)


def _key(worker: str) -> str:
    return f"{settings.RUNBOOKS_WORKER_HEARTBEAT_PREFIX}{worker}"


def worker_heartbeat_write(
    *, connection: redis.Redis, worker: str, docker: str | None, now: float | None = None
) -> WorkerHeartbeat:
    """Record that `worker` is alive and what it saw of the Docker engine (None: reachable)."""
    heartbeat = WorkerHeartbeat(worker=worker, at=time.time() if now is None else now, docker=docker)
    value = json.dumps({"worker": worker, "at": heartbeat.at, "docker": docker})
    connection.set(_key(worker), value, ex=HEARTBEAT_TTL_SECONDS)
    return heartbeat


def worker_heartbeat_clear(*, connection: redis.Redis, worker: str) -> None:
    """A worker that stops says so at once, rather than looking alive until its TTL runs out."""
    connection.delete(_key(worker))


def worker_heartbeats_live(*, connection: redis.Redis, now: float | None = None) -> list[WorkerHeartbeat]:
    """The heartbeats written within HEARTBEAT_TTL_SECONDS of `now`. Raises redis.RedisError."""
    now = time.time() if now is None else now
    found = []
    for key in connection.scan_iter(match=f"{settings.RUNBOOKS_WORKER_HEARTBEAT_PREFIX}*", count=500):
        raw = connection.get(key)
        try:
            data = json.loads(raw) if raw is not None else None
            heartbeat = WorkerHeartbeat(worker=str(data["worker"]), at=float(data["at"]), docker=data["docker"])
        except (TypeError, ValueError, KeyError):
            continue  # gone meanwhile, or not ours to read
        # Only the age counts: a worker on a host whose clock runs a little ahead is still alive.
        if now - heartbeat.at <= HEARTBEAT_TTL_SECONDS:
            found.append(heartbeat)
    return found
