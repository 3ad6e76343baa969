"""Reachability checks of the database, Redis and the Docker engine, for /healthz and the worker."""

import docker
import redis
from django.conf import settings
from django.db import connection


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


def docker_client(timeout: int = 5) -> docker.DockerClient:
    if settings.DOCKER_HOST:
        return docker.DockerClient(base_url=settings.DOCKER_HOST, timeout=timeout)
    return docker.from_env(timeout=timeout)


def check_docker() -> str | None:
    try:
        client = docker_client(timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as error:
        return f"{type(error).__name__}"
    return None
