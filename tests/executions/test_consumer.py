"""The execution socket through the real ASGI stack (origin check, session auth) and real Redis.

Chunks are stored and published by the engine's own output sink (masking, batching, seq numbers);
only the container is left out, so these tests need Redis but not Docker.
"""

import re
import threading
import time
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from apps.core.redis_url import channel_layer_host
from apps.executions.models import Execution, OutputChunk, StepRun
from apps.executions.output import StepOutput
from apps.executions.streaming import publish_chunk, publish_state
from tests.support.sockets import communicator, frames_until, run, session_headers

CHUNK = re.compile(r'id="chunk-(\d+)-(\d+)"')


@pytest.fixture(autouse=True)
def channel_layer(settings):
    """Real Redis, under a prefix of its own so parallel suites sharing the Redis db never cross-talk."""
    import redis

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
    from django.utils import timezone

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


def first_step(execution) -> StepRun:
    return execution.steps.get(position=0)


def sink(execution, secrets=()) -> StepOutput:
    return StepOutput(execution_id=execution.pk, step_run=first_step(execution), secrets=list(secrets))


def store(execution, *texts, secrets=()) -> None:
    """Each text becomes one stored (and published) chunk, exactly as the worker's sink does it."""
    output = sink(execution, secrets)
    for text in texts:
        output.write(text)
        output._store()  # one chunk per text instead of waiting for the 50 ms batch window
    output.flush()


@pytest.fixture
def viewer_headers(cast, client_for):
    return session_headers(client_for, cast.viewer)


def chunk_ids(texts) -> list[tuple[int, int]]:
    return [(int(step), int(seq)) for step, seq in CHUNK.findall("".join(texts))]


@pytest.mark.parametrize("who", ["outsider", None])
def test_it_closes_the_socket_of_an_outsider_or_anonymous_with_no_data(who, cast, execution, client_for):
    store(execution, "secret-ish line\n")
    headers = session_headers(client_for, getattr(cast, who) if who else None)

    async def scenario():
        socket = communicator(execution, headers)
        connected, _ = await socket.connect()
        assert connected
        message = await socket.receive_output(timeout=5)
        assert message == {"type": "websocket.close", "code": 4404}
        # Live output published afterwards does not reach it either.
        await sync_to_async(store)(execution, "later\n")
        assert await socket.receive_nothing(timeout=0.5)

    run(scenario)


def test_it_refuses_a_socket_from_a_foreign_origin(cast, execution, client_for):
    headers = [(b"origin", b"http://evil.example"), *session_headers(client_for, cast.viewer)[1:]]

    async def scenario():
        socket = communicator(execution, headers)
        connected, _ = await socket.connect()
        assert not connected

    run(scenario)


def test_a_viewer_gets_the_backlog_then_live_chunks_in_order(cast, execution, client_for, viewer_headers):
    store(execution, "line 0\n", "line 1\n")
    step = first_step(execution)

    async def scenario():
        socket = communicator(execution, viewer_headers)
        connected, _ = await socket.connect()
        assert connected
        texts, closed = await frames_until(socket, lambda text: 'id="execution-status"' in text)
        assert closed is None
        assert chunk_ids(texts) == [(step.pk, 0), (step.pk, 1)]
        backlog = "".join(texts)
        assert f'hx-swap-oob="beforeend:#output-{step.pk}"' in backlog
        assert backlog.index("line 0") < backlog.index("line 1") < backlog.index('id="execution-status"')
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
        socket = communicator(execution, viewer_headers, query=f"after={step.pk}:2")
        await socket.connect()
        texts, _ = await frames_until(socket, lambda text: 'id="execution-status"' in text)
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
        socket = communicator(execution, viewer_headers, query=f"after={step.pk}:3")
        await socket.connect()
        texts, _ = await frames_until(socket, lambda text: 'id="execution-status"' in text)
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
        socket = communicator(execution, viewer_headers)
        await socket.connect()
        await frames_until(socket, lambda text: 'id="execution-status"' in text)
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
        from django.db import connection

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
        socket = communicator(execution, viewer_headers)
        await socket.connect()
        await frames_until(socket, lambda text: 'id="execution-status"' in text)
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
        texts, _ = await frames_until(again, lambda text: 'id="execution-status"' in text)
        assert "token=***" in "".join(texts) and secret not in "".join(texts)
        await again.disconnect()

    run(scenario)


def test_signing_out_closes_the_socket(cast, execution, client_for):
    client = client_for(cast.viewer)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    headers = [
        (b"origin", b"http://testserver"),
        (b"host", b"testserver"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
    ]

    async def scenario():
        socket = communicator(execution, headers)
        await socket.connect()
        await frames_until(socket, lambda text: 'id="execution-status"' in text)
        response = await sync_to_async(client.post)("/accounts/logout/")
        assert response.status_code in (200, 302)
        message = await socket.receive_output(timeout=5)
        assert message == {"type": "websocket.close", "code": 4401}

    run(scenario)


def test_a_flushed_session_closes_the_socket_on_the_periodic_check(
    cast, execution, client_for, settings, viewer_headers
):
    settings.RUNBOOKS_STREAM_RECHECK_SECONDS = 0.3
    from django.contrib.sessions.models import Session

    async def scenario():
        socket = communicator(execution, viewer_headers)
        await socket.connect()
        await frames_until(socket, lambda text: 'id="execution-status"' in text)
        # Sessions ended without our signal (expiry, an admin clearing them) are noticed too.
        await sync_to_async(Session.objects.all().delete)()
        _texts, closed = await frames_until(socket, lambda text: False, timeout=5)
        assert closed == {"type": "websocket.close", "code": 4401}

    run(scenario)


def test_revoking_the_role_closes_the_socket_at_the_next_state_change(cast, execution, client_for, viewer_headers):
    from apps.runbooks.services.access import runbook_grant

    async def scenario():
        socket = communicator(execution, viewer_headers)
        await socket.connect()
        await frames_until(socket, lambda text: 'id="execution-status"' in text)
        await sync_to_async(runbook_grant)(runbook=cast.runbook, actor=cast.owner, principal=cast.viewer, role=None)
        await sync_to_async(publish_state)(execution.pk)
        texts, closed = await frames_until(socket, lambda text: False, timeout=5)
        assert closed == {"type": "websocket.close", "code": 4404}
        assert texts == []  # not even the state that triggered the check

    run(scenario)


def test_revoking_the_role_closes_a_quiet_socket_within_the_recheck_period(
    cast, execution, client_for, settings, viewer_headers
):
    settings.RUNBOOKS_STREAM_RECHECK_SECONDS = 0.3
    from apps.runbooks.services.access import runbook_grant

    async def scenario():
        socket = communicator(execution, viewer_headers)
        await socket.connect()
        await frames_until(socket, lambda text: 'id="execution-status"' in text)
        await sync_to_async(runbook_grant)(runbook=cast.runbook, actor=cast.owner, principal=cast.viewer, role=None)
        started = time.monotonic()
        _, closed = await frames_until(socket, lambda text: False, timeout=5)
        assert closed == {"type": "websocket.close", "code": 4404}
        assert time.monotonic() - started < 2

    run(scenario)


def test_state_changes_rerender_the_live_regions_and_the_final_state_closes_the_socket(
    cast, execution, client_for, viewer_headers
):
    from django.utils import timezone

    step = first_step(execution)
    second = execution.steps.get(position=1)

    async def scenario():
        socket = communicator(execution, viewer_headers)
        await socket.connect()
        texts, _ = await frames_until(socket, lambda text: 'id="execution-status"' in text)
        first = "".join(texts)
        assert 'data-status="running"' in first and "0 of 2 steps done" in first and 'class="spinner live"' in first

        await sync_to_async(StepRun.objects.filter(pk=step.pk).update)(
            status="succeeded", exit_code=0, finished_at=timezone.now()
        )
        await sync_to_async(StepRun.objects.filter(pk=second.pk).update)(status="running", started_at=timezone.now())
        await sync_to_async(publish_state)(execution.pk)
        texts, _ = await frames_until(socket, lambda text: 'id="execution-status"' in text)
        state = "".join(texts)
        assert "1 of 2 steps done" in state and "exit 0" in state
        assert re.search(rf'id="step-state-{second.pk}"[^>]*data-status="running"', state)
        assert f'hx-swap-oob="innerHTML:#step-slot-{second.pk}"' in state, "each step's body is re-rendered too"

        await sync_to_async(StepRun.objects.filter(pk=second.pk).update)(
            status="failed", exit_code=3, finished_at=timezone.now()
        )
        await sync_to_async(Execution.objects.filter(pk=execution.pk).update)(
            status="failed", error="Step two failed: exit code 3", finished_at=timezone.now()
        )
        await sync_to_async(publish_state)(execution.pk)
        texts, closed = await frames_until(socket, lambda text: False, timeout=5)
        final = "".join(texts)
        assert 'data-final="1"' in final and "Step two failed: exit code 3" in final and "2 of 2 steps done" in final
        assert "Failed · Run #" in final
        assert closed == {"type": "websocket.close", "code": 1000}

    run(scenario)


def test_a_finished_execution_sends_its_backlog_and_closes(cast, execution, client_for, viewer_headers):
    store(execution, "all done\n")
    Execution.objects.filter(pk=execution.pk).update(status="succeeded")

    async def scenario():
        socket = communicator(execution, viewer_headers)
        await socket.connect()
        texts, closed = await frames_until(socket, lambda text: False, timeout=5)
        assert "all done" in "".join(texts) and 'data-final="1"' in "".join(texts)
        assert closed == {"type": "websocket.close", "code": 1000}

    run(scenario)


def test_an_execution_deleted_under_an_open_socket_closes_it_cleanly(cast, execution, viewer_headers):
    async def scenario():
        socket = communicator(execution, viewer_headers)
        await socket.connect()
        await frames_until(socket, lambda text: 'id="execution-status"' in text)
        pk = execution.pk
        await sync_to_async(Execution.objects.filter(pk=pk).delete)()
        await sync_to_async(publish_chunk)(pk, 0, 0, "orphan\n")
        await sync_to_async(publish_state)(pk)
        texts, closed = await frames_until(socket, lambda text: False, timeout=5)
        assert texts == [] and closed["code"] in (1000, 4404)

    run(scenario)


def gate_execution(cast, gate: str) -> Execution:
    """A run of cast.runbook started by the runner, waiting at a `gate` instruction."""
    from django.utils import timezone

    execution = Execution.objects.create(
        runbook=cast.runbook,
        snapshot={"blocks": []},
        status="waiting",
        triggered_by=cast.runner,
        started_at=timezone.now(),
    )
    StepRun.objects.create(
        execution=execution,
        position=0,
        block_key="gate",
        kind="instruction",
        status="waiting",
        started_at=timezone.now(),
        result={"gate": gate, "wait": {"reason": gate}},
    )
    return execution


def page_headers(client_for, user, execution) -> tuple[list[tuple[bytes, bytes]], object]:
    """The cookies a browser has after loading the run's page: session and CSRF."""
    client = client_for(user)
    client.get(f"/executions/{execution.pk}/")
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    return [(b"origin", b"http://testserver"), (b"host", b"testserver"), (b"cookie", cookies.encode())], client


@pytest.mark.parametrize(
    ("gate", "role", "buttons"),
    [
        ("confirm", "runner", ["continue", "reject"]),
        ("confirm", "editor", ["continue", "reject"]),
        ("confirm", "viewer", []),
        ("approval", "runner", ["reject"]),  # the starter: not their own approval
        ("approval", "editor", ["approve", "reject"]),
    ],
)
def test_each_socket_gets_its_own_users_buttons_in_the_state_frame(
    cast, client_for, transactional_db, gate, role, buttons
):
    execution = gate_execution(cast, gate)
    headers, _ = page_headers(client_for, getattr(cast, role), execution)

    async def scenario():
        socket = communicator(execution, headers)
        await socket.connect()
        texts, _ = await frames_until(socket, lambda text: 'id="execution-status"' in text)
        await socket.disconnect()
        return "".join(texts)

    frame = run(scenario)
    assert re.findall(r'name="decision" value="(\w+)"', frame) == buttons
    assert ("Cancel run…" in frame) is (role != "viewer")
    assert ("you cannot approve it" in frame) is (gate == "approval" and role == "runner")
    assert "hx-get" not in frame, "no loader: the frame itself carries the buttons"


def test_a_button_from_a_live_frame_posts_with_a_valid_csrf_token(cast, client_for, transactional_db):
    from django.test import Client

    execution = gate_execution(cast, "confirm")
    headers, client = page_headers(client_for, cast.editor, execution)

    async def scenario():
        socket = communicator(execution, headers)
        await socket.connect()
        texts, _ = await frames_until(socket, lambda text: 'id="execution-status"' in text)
        await socket.disconnect()
        return "".join(texts)

    frame = run(scenario)
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', frame).group(1)
    # A browser without JavaScript posts the form as the frame rendered it: CSRF checks are on.
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    answer = strict.post(
        f"/executions/{execution.pk}/decide", {"csrfmiddlewaretoken": token, "step": "gate", "decision": "continue"}
    )
    assert answer.status_code == 302
    assert StepRun.objects.get(execution=execution).status == "succeeded"
