"""The execution socket × every member of the cast: the run's viewers get its live regions; everyone
else (the anonymous, outsiders, staff without a role) is closed with 4404 before any data."""

import pytest
from django.utils import timezone

from apps.executions.models import Execution, StepRun
from runbooks_site.routing import websocket_urlpatterns
from tests.support.sockets import STATUS, communicator, frames_until, run, session_headers

from .cases import PEOPLE

WATCHES = "watches"
SOCKETS = {
    "/ws/executions/<int:pk>/": {person: WATCHES for person in PEOPLE}
    | {"anonymous": 4404, "outsider": 4404, "staff": 4404},
}


@pytest.fixture
def running(cast, transactional_db):
    """The consumer reads the database from its own thread: the run must be committed."""
    execution = Execution.objects.create(
        runbook=cast.runbook, snapshot={"blocks": []}, status="running", triggered_by=cast.runner,
        started_at=timezone.now(),
    )  # fmt: skip
    StepRun.objects.create(execution=execution, position=0, block_key="one", kind="command", status="running")
    return execution


@pytest.mark.parametrize("person", PEOPLE)
def test_the_socket_answers_each_person_exactly(cast, client_for, running, person):
    headers = session_headers(client_for, None if person == "anonymous" else getattr(cast, person))
    want = SOCKETS["/ws/executions/<int:pk>/"][person]

    async def scenario():
        socket = communicator(running, headers)
        connected, _ = await socket.connect()
        assert connected  # accepted, then closed with a code: a refused handshake would look like a network error
        texts, closed = await frames_until(socket, lambda text: STATUS in text)
        if want == WATCHES:
            assert closed is None and STATUS in "".join(texts)
            await socket.disconnect()
        else:
            assert texts == [] and closed == {"type": "websocket.close", "code": want}

    run(scenario)


def test_every_socket_route_is_in_the_matrix():
    assert sorted("/" + str(pattern.pattern) for pattern in websocket_urlpatterns) == sorted(SOCKETS)
