"""Reachability checks for /healthz: the database and Redis directly, the Docker engine as the
workers report it (apps.core.heartbeats). Each returns None when fine, else why not, in words
that never quote a connection string (it may hold a password)."""

import redis
from django.conf import settings
from django.db import connection

from apps.core.heartbeats import HEARTBEAT_TTL_SECONDS, heartbeat_connection, worker_heartbeats_live


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return f"{type(error).__name__}"
    return None


def check_redis() -> str | None:
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as error:
        return f"{type(error).__name__}"
    return None


def check_workers_docker(*, now: float | None = None) -> str | None:
    """None when at least one live worker reports the Docker engine reachable, else why not."""
    client = heartbeat_connection()
    try:
        heartbeats = worker_heartbeats_live(connection=client, now=now)
    except redis.RedisError as error:
        return f"the workers' heartbeats cannot be read ({type(error).__name__})"
    finally:
        client.close()
    if not heartbeats:
        return f"no worker has reported in the last {HEARTBEAT_TTL_SECONDS} s"
    if any(heartbeat.docker is None for heartbeat in heartbeats):
        return None
    problems = ", ".join(sorted({heartbeat.docker or "" for heartbeat in heartbeats}))
    return f"no worker reaches the Docker engine ({len(heartbeats)} reporting: {problems})"
