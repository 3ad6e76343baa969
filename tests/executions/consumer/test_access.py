"""Who may hold the execution socket: origin and session checks on connect, and a socket closed when its
user signs out, loses the session or the role, or the execution goes away."""

import time

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.models import Session

from apps.executions.models import Execution
from apps.executions.streaming import publish_chunk, publish_state
from apps.runbooks.services.access import runbook_grant
from tests.support.output import store
from tests.support.sockets import communicator, connected, frames_until, run, session_headers


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


def test_signing_out_closes_the_socket(cast, execution, client_for):
    client = client_for(cast.viewer)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    headers = [
        (b"origin", b"http://testserver"),
        (b"host", b"testserver"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
    ]

    async def scenario():
        socket, _ = await connected(execution, headers)
        response = await sync_to_async(client.post)("/accounts/logout/")
        assert response.status_code in (200, 302)
        message = await socket.receive_output(timeout=5)
        assert message == {"type": "websocket.close", "code": 4401}

    run(scenario)


def test_a_flushed_session_closes_the_socket_on_the_periodic_check(
    cast, execution, client_for, settings, viewer_headers
):
    settings.RUNBOOKS_STREAM_RECHECK_SECONDS = 0.3

    async def scenario():
        socket, _ = await connected(execution, viewer_headers)
        # Sessions ended without our signal (expiry, an admin clearing them) are noticed too.
        await sync_to_async(Session.objects.all().delete)()
        _texts, closed = await frames_until(socket, lambda text: False, timeout=5)
        assert closed == {"type": "websocket.close", "code": 4401}

    run(scenario)


def test_revoking_the_role_closes_the_socket_at_the_next_state_change(cast, execution, client_for, viewer_headers):
    async def scenario():
        socket, _ = await connected(execution, viewer_headers)
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

    async def scenario():
        socket, _ = await connected(execution, viewer_headers)
        await sync_to_async(runbook_grant)(runbook=cast.runbook, actor=cast.owner, principal=cast.viewer, role=None)
        started = time.monotonic()
        _, closed = await frames_until(socket, lambda text: False, timeout=5)
        assert closed == {"type": "websocket.close", "code": 4404}
        assert time.monotonic() - started < 2

    run(scenario)


def test_an_execution_deleted_under_an_open_socket_closes_it_cleanly(cast, execution, viewer_headers):
    async def scenario():
        socket, _ = await connected(execution, viewer_headers)
        pk = execution.pk
        await sync_to_async(Execution.objects.filter(pk=pk).delete)()
        await sync_to_async(publish_chunk)(pk, 0, 0, "orphan\n")
        await sync_to_async(publish_state)(pk)
        texts, closed = await frames_until(socket, lambda text: False, timeout=5)
        assert texts == [] and closed["code"] in (1000, 4404)

    run(scenario)
