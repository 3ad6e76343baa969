"""Output over the execution socket: the backlog then live chunks, in order, resumed after a seq, gaps filled
from the database, nothing lost or doubled, secrets masked."""

import re
import threading
import time
import uuid

from asgiref.sync import sync_to_async
from django.db import connection

from apps.executions.models import OutputChunk, StepRun
from apps.executions.streaming import publish_chunk
from tests.support.output import first_step, sink, store
from tests.support.sockets import CHUNK, STATUS, chunk_ids, communicator, connected, frames_until, run


def test_a_viewer_gets_the_backlog_then_live_chunks_in_order(cast, execution, client_for, viewer_headers):
    store(execution, "line 0\n", "line 1\n")
    step = first_step(execution)

    async def scenario():
        socket, texts = await connected(execution, viewer_headers)
        assert chunk_ids(texts) == [(step.pk, 0), (step.pk, 1)]
        backlog = "".join(texts)
        assert f'hx-swap-oob="beforeend:#output-{step.pk}"' in backlog
        assert backlog.index("line 0") < backlog.index("line 1") < backlog.index(STATUS)
        assert f'id="step-state-{step.pk}"' in backlog and 'id="execution-title"' in backlog

        await sync_to_async(store)(execution, "line 2\n", "line 3\n")
        texts, _ = await frames_until(socket, lambda text: len(CHUNK.findall(text)) >= 2)
        assert chunk_ids(texts) == [(step.pk, 2), (step.pk, 3)]
        assert "line 2" in texts[0] and "line 3" in texts[1]
        await socket.disconnect()

    run(scenario)


def test_resuming_after_seq_n_sends_exactly_the_rest(cast, execution, client_for, viewer_headers):
    store(execution, *[f"line {n}\n" for n in range(5)])
    step = first_step(execution)

    async def scenario():
        socket, texts = await connected(execution, viewer_headers, query=f"after={step.pk}:2")
        assert chunk_ids(texts) == [(step.pk, 3), (step.pk, 4)]
        assert "line 2" not in "".join(texts)
        # The worker re-publishing an old chunk (or Redis delivering late) doubles nothing.
        await sync_to_async(publish_chunk)(execution.pk, step.pk, 4, "line 4\n")
        await sync_to_async(publish_chunk)(execution.pk, step.pk, 1, "line 1\n")
        await sync_to_async(store)(execution, "line 5\n")
        texts, _ = await frames_until(socket, lambda text: "line 5" in text)
        assert chunk_ids(texts) == [(step.pk, 5)]
        await socket.disconnect()

    run(scenario)


def test_a_resume_message_replays_what_the_client_lacks(cast, execution, client_for, viewer_headers):
    store(execution, *[f"line {n}\n" for n in range(4)])
    step = first_step(execution)

    async def scenario():
        socket, texts = await connected(execution, viewer_headers, query=f"after={step.pk}:3")
        assert chunk_ids(texts) == []
        await socket.send_to(text_data=f'{{"resume": {{"{step.pk}": 1}}}}')
        texts, _ = await frames_until(socket, lambda text: len(CHUNK.findall(text)) >= 2)
        assert chunk_ids(texts) == [(step.pk, 2), (step.pk, 3)]
        await socket.send_to(text_data="not json")
        await socket.send_to(text_data='{"resume": "garbage"}')
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


def test_a_chunk_missing_from_the_group_is_filled_from_the_database(cast, execution, client_for, viewer_headers):
    step = first_step(execution)

    async def scenario():
        socket, _ = await connected(execution, viewer_headers)
        # Seq 0 is stored but its publish is lost (Redis hiccup); seq 1 is published.
        await sync_to_async(OutputChunk.objects.create)(step_run=step, seq=0, data="lost publish\n")
        await sync_to_async(StepRun.objects.filter(pk=step.pk).update)(next_seq=2)
        await sync_to_async(OutputChunk.objects.create)(step_run=step, seq=1, data="published\n")
        await sync_to_async(publish_chunk)(execution.pk, step.pk, 1, "published\n")
        texts, _ = await frames_until(socket, lambda text: "published" in text)
        assert chunk_ids(texts) == [(step.pk, 0), (step.pk, 1)]
        assert "lost publish" in "".join(texts)
        await socket.disconnect()

    run(scenario)


def test_no_line_is_lost_or_doubled_when_chunks_arrive_while_replaying(cast, execution, client_for, viewer_headers):
    step = first_step(execution)
    total = 150
    started = threading.Event()

    def chatty_worker():
        output = sink(execution)
        for n in range(total):
            output.write(f"line {n}\n")
            output._store()
            if n == 20:
                started.set()
            time.sleep(0.004)
        output.flush()
        connection.close()

    async def scenario():
        writer = threading.Thread(target=chatty_worker)
        writer.start()
        await sync_to_async(started.wait, thread_sensitive=False)(10)
        socket = communicator(execution, viewer_headers)
        await socket.connect()
        texts, _ = await frames_until(socket, lambda text: f"line {total - 1}\n" in text, timeout=20)
        await sync_to_async(writer.join, thread_sensitive=False)()
        received = chunk_ids(texts)
        assert received == [(step.pk, seq) for seq in range(total)]
        lines = re.findall(r"line (\d+)\n", re.sub(r"<[^>]+>", "", "".join(texts)))
        assert lines == [str(n) for n in range(total)]
        await socket.disconnect()

    run(scenario)


def test_a_masked_secret_arrives_only_as_stars(cast, execution, client_for, viewer_headers):
    secret = "hunter2-" + uuid.uuid4().hex

    async def scenario():
        socket, _ = await connected(execution, viewer_headers)
        # Split across two writes: the masker holds the tail back until it knows.
        await sync_to_async(store)(execution, f"token={secret[:6]}", f"{secret[6:]} done\n", secrets=[secret])
        texts, _ = await frames_until(socket, lambda text: "done" in text)
        live = "".join(texts)
        assert "token=***" in live
        assert secret not in live and secret[:6] not in live
        await socket.disconnect()
        # A fresh socket replaying the backlog shows the same.
        again = communicator(execution, viewer_headers)
        await again.connect()
        texts, _ = await frames_until(again, lambda text: STATUS in text)
        assert "token=***" in "".join(texts) and secret not in "".join(texts)
        await again.disconnect()

    run(scenario)
