"""Environment image builds, queued on "default": apps.environments asks for one with a signal (it
sits below executions and knows no queue); this receiver, connected in ExecutionsConfig.ready(),
enqueues the job."""

import logging

import django_rq
import redis

from apps.environments.jobs import build_environment
from apps.environments.services import environment_build_unqueued

logger = logging.getLogger(__name__)
QUEUE_NAME = "default"


def enqueue_build(sender, *, environment_id: int, **kwargs) -> None:
    """Queue the build; with Redis down the environment says so instead of "building" forever."""
    try:
        django_rq.get_queue(QUEUE_NAME).enqueue(
            build_environment, environment_id, job_id=f"environment-build-{environment_id}", job_timeout=1800
        )
    except redis.RedisError as error:
        logger.warning("Could not queue the build of environment %s: %s", environment_id, type(error).__name__)
        environment_build_unqueued(environment_id=environment_id)
