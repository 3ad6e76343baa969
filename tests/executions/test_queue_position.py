"""A run waiting for a free slot says so in its header, with its place in the queue: on the page and
in the live frame that re-renders the header. The queued state is real: runs started through the
service and left in the queue (no worker takes them here)."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from apps.core.redis_url import channel_layer_host
from apps.executions.consumers import state_frame_for
from apps.executions.models import Execution, ExecutionStatus
from apps.executions.selectors import execution_steps
from apps.executions.services.start import execution_start
from tests.support.executions import command
from tests.support.sockets import communicator, frames_until, run, session_headers

pytestmark = pytest.mark.django_db


def _queued(cast, make_runbook, count: int) -> list[Execution]:
    runbook = make_runbook(cast.owner, [command("nap", "sleep 1")], title="Queued")
    return [execution_start(runbook=runbook, user=cast.runner) for _ in range(count)]


def test_a_queued_run_page_shows_its_position_in_the_queue(cast, make_runbook, client_for, settings):
    settings.RUNBOOKS_MAX_RUNNING_PER_RUNBOOK = 1
    first, second, third = _queued(cast, make_runbook, 3)
    # The first one took the runbook's only slot; the others wait behind it.
    Execution.objects.filter(pk=first.pk).update(status=ExecutionStatus.RUNNING)
    page = client_for(cast.viewer).get(f"/executions/{third.pk}/").content.decode()
    assert "Waiting for a free slot — position 2 in the queue" in page
    assert "1 of this runbook" in page
    page = client_for(cast.viewer).get(f"/executions/{second.pk}/").content.decode()
    assert "Waiting for a free slot — position 1 in the queue" in page


def test_the_live_header_frame_moves_the_position_up_and_drops_it_once_running(cast, make_runbook):
    first, second = _queued(cast, make_runbook, 2)

    def frame(execution) -> str:
        execution = Execution.objects.get(pk=execution.pk)
        return state_frame_for(cast.viewer, execution, execution_steps(execution))

    assert "position 2 in the queue" in frame(second)
    Execution.objects.filter(pk=first.pk).update(status=ExecutionStatus.RUNNING)
    assert "position 1 in the queue" in frame(second)
    Execution.objects.filter(pk=second.pk).update(status=ExecutionStatus.RUNNING)
    assert "Waiting for a free slot" not in frame(second)
    assert "Waiting for a free slot" not in frame(first)


@pytest.mark.django_db(transaction=True)
def test_the_socket_sends_the_new_position_when_a_run_ahead_starts(cast, make_runbook, client_for, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [channel_layer_host(settings.REDIS_URL)], "prefix": f"test-{uuid.uuid4().hex[:12]}"},
        }
    }
    settings.RUNBOOKS_STREAM_RECHECK_SECONDS = 0.3
    first, second = _queued(cast, make_runbook, 2)
    headers = session_headers(client_for, cast.viewer)

    async def scenario():
        socket = communicator(second, headers)
        connected, _ = await socket.connect()
        assert connected
        texts, _ = await frames_until(socket, lambda text: "position 2 in the queue" in text)
        assert "position 2 in the queue" in "".join(texts)
        # The run ahead takes its slot: nothing happened to this run, yet its header moves up.
        await sync_to_async(Execution.objects.filter(pk=first.pk).update)(status=ExecutionStatus.RUNNING)
        texts, _ = await frames_until(socket, lambda text: "position 1 in the queue" in text)
        assert "position 1 in the queue" in "".join(texts)
        await socket.disconnect()

    run(scenario)  # on a thread of its own: a browser test earlier in this process leaves a loop running
