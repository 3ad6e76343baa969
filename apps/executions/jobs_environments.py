"""RQ entry points for environment image builds (queue "default"): take an id, call one service."""

import logging

import redis

logger = logging.getLogger(__name__)
QUEUE_NAME = "default"


def build_environment(environment_id: int) -> None:
    from apps.executions.environments import environment_build
    from apps.executions.models import ExecutionEnvironment

    environment = ExecutionEnvironment.objects.filter(pk=environment_id).first()
    if environment is None or not environment.dockerfile:
        return
    environment_build(environment=environment)


def enqueue_build(environment_id: int) -> None:
    """Queue the build; with Redis down the environment says so instead of "building" forever."""
    import django_rq

    from apps.executions.models import ExecutionEnvironment

    try:
        django_rq.get_queue(QUEUE_NAME).enqueue(
            build_environment, environment_id, job_id=f"environment-build-{environment_id}", job_timeout=1800
        )
    except redis.RedisError as error:
        logger.warning("Could not queue the build of environment %s: %s", environment_id, type(error).__name__)
        ExecutionEnvironment.objects.filter(pk=environment_id).update(
            build_status="failed",
            build_log="Could not queue the build: Redis is not reachable. Use Rebuild once it is back.\n",
        )
