"""Reachability checks of the database, Redis and the Docker engine, for /healthz and the worker."""

import os

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
    # from_env also reads DOCKER_TLS_VERIFY and DOCKER_CERT_PATH: a tcp:// DOCKER_HOST must use TLS,
    # never plain unauthenticated HTTP to a remote engine.
    environment = dict(os.environ)
    if settings.DOCKER_HOST:
        environment["DOCKER_HOST"] = settings.DOCKER_HOST
    return docker.from_env(timeout=timeout, environment=environment)


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
