"""Environment image builds, queued on "default": apps.environments asks for one with a signal (it
sits below executions and knows no queue); this receiver, connected in ExecutionsConfig.ready(),
enqueues the job through apps.executions.queue."""

import logging

from apps.environments.services import environment_build_unqueued
from apps.executions.queue import QueueUnavailable, enqueue_build

logger = logging.getLogger(__name__)


def enqueue_build_requested(sender, *, environment_id: int, **kwargs) -> None:
    """Queue the build; with Redis down the environment says so instead of "building" forever."""
    try:
        enqueue_build(environment_id)
    except QueueUnavailable:
        logger.warning("Could not queue the build of environment %s: Redis is not reachable", environment_id)
        environment_build_unqueued(environment_id=environment_id)
