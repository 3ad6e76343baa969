"""The worker's side of live output: publishing to the channel layer, and a real run reaching a socket."""

import re
import threading
import time
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from apps.executions import streaming
from apps.executions.models import Execution, OutputChunk, StepRun
from apps.executions.output import StepOutput
from apps.executions.services.start import execution_start
from tests.support.executions import command, run_now
from tests.support.sockets import CHUNK, STATUS, communicator, frames_until, run, session_headers


def layer_settings(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": f"test-{uuid.uuid4().hex[:12]}"},
        }
    }


@pytest.fixture(autouse=True)
def fresh_publisher(monkeypatch, settings):
    monkeypatch.setattr(streaming, "_paused_until", 0.0)
    settings.CHANNEL_LAYERS = layer_settings(settings.REDIS_URL)


def test_publish_reaches_the_execution_group_in_order():
    layer = get_channel_layer()

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("execution-77", channel)
        for seq in range(3):
            assert await sync_to_async(streaming.publish_chunk, thread_sensitive=False)(77, 5, seq, f"line {seq}\n")
        assert await sync_to_async(streaming.publish_state, thread_sensitive=False)(77)
        received = [await layer.receive(channel) for _ in range(4)]
        assert [message.get("seq") for message in received] == [0, 1, 2, None]
        assert received[0] == {"type": "execution.chunk", "step_run_id": 5, "seq": 0, "text": "line 0\n"}
        assert received[3] == {"type": "execution.state"}

    run(scenario)


def test_a_redis_outage_never_breaks_or_stalls_the_worker(cast, settings, caplog):
    # A closed port is a real outage: nothing listens there.
    settings.CHANNEL_LAYERS = layer_settings("redis://127.0.0.1:1/0")
    execution = Execution.objects.create(runbook=cast.runbook, snapshot={"blocks": []}, status="running")
    step = StepRun.objects.create(execution=execution, position=0, block_key="one", kind="command", status="running")
    output = StepOutput(execution_id=execution.pk, step_run=step, secrets=[])
    started = time.monotonic()
    for n in range(40):
        output.write(f"line {n}\n")
        output._store()
    output.flush()
    elapsed = time.monotonic() - started
    # The database keeps every line: it is the record the sockets replay from once Redis is back.
    assert "".join(chunk.data for chunk in OutputChunk.objects.filter(step_run=step)) == "".join(
        f"line {n}\n" for n in range(40)
    )
    # One failed attempt, then publishing pauses instead of paying a timeout per chunk.
    assert elapsed < 3
    assert "live viewers catch up from the database" in caplog.text
    assert streaming.publish_state(execution.pk) is False


@pytest.mark.docker
def test_a_real_run_streams_every_line_once_and_ends_with_the_final_state(
    cast, make_runbook, docker_engine, client_for, transactional_db, settings
):
    runbook = make_runbook(
        cast.owner, [command("count", 'for i in $(seq 1 12); do echo "tick $i"; sleep 0.1; done; echo done >&2')]
    )
    execution = execution_start(runbook=runbook, user=cast.owner)
    headers = session_headers(client_for, cast.viewer)

    async def scenario():
        socket = communicator(execution, headers)
        connected, _ = await socket.connect()
        assert connected
        await frames_until(socket, lambda text: STATUS in text)
        worker = threading.Thread(target=run_now, args=(execution,))
        worker.start()
        texts, closed = await frames_until(socket, lambda text: False, timeout=60)
        await sync_to_async(worker.join, thread_sensitive=False)()
        return texts, closed

    texts, closed = run(scenario)
    step = execution.steps.get()
    received = [int(seq) for step_id, seq in CHUNK.findall("".join(texts)) if int(step_id) == step.pk]
    assert received == list(range(step.next_seq))
    plain = re.sub(r"<[^>]+>", "", "".join(texts))
    assert re.findall(r"tick (\d+)", plain) == [str(n) for n in range(1, 13)]
    # More than one live chunk: output arrived while the step ran, not in one piece at the end.
    assert step.next_seq > 3
    assert 'data-final="1"' in "".join(texts) and "Succeeded · Run #" in "".join(texts)
    assert closed == {"type": "websocket.close", "code": 1000}
