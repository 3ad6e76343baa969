"""The execution socket's fixtures: real Redis under a prefix of its own, a running execution, a viewer's headers."""

import uuid

import pytest
import redis
from django.utils import timezone

from apps.core.redis_url import channel_layer_host
from apps.executions.models import Execution, StepRun
from tests.support.sockets import session_headers


@pytest.fixture(autouse=True)
def channel_layer(settings):
    """Real Redis, under a prefix of its own so parallel suites sharing the Redis db never cross-talk."""
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis not reachable at {settings.REDIS_URL}: {error}")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [channel_layer_host(settings.REDIS_URL)], "prefix": f"test-{uuid.uuid4().hex[:12]}"},
        }
    }
    settings.RUNBOOKS_STREAM_RECHECK_SECONDS = 30  # tests that rely on the periodic check lower it


@pytest.fixture
def execution(cast, transactional_db):
    """A running full execution of cast.runbook with two command steps, the first one running."""
    execution = Execution.objects.create(
        runbook=cast.runbook,
        snapshot={"blocks": []},
        status="running",
        triggered_by=cast.runner,
        started_at=timezone.now(),
    )
    StepRun.objects.create(
        execution=execution, position=0, block_key="one", kind="command", status="running", started_at=timezone.now()
    )
    StepRun.objects.create(execution=execution, position=1, block_key="two", kind="command")
    return execution


@pytest.fixture
def viewer_headers(cast, client_for):
    return session_headers(client_for, cast.viewer)
