"""The execution socket through the real ASGI stack: a signed-in browser's headers, a communicator,
and async scenarios run on a thread of their own."""

import re
import threading
import time

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings

CHUNK = re.compile(r'id="chunk-(\d+)-(\d+)"')


def chunk_ids(texts) -> list[tuple[int, int]]:
    """(step run id, seq) of each output chunk in the frames, in order."""
    return [(int(step), int(seq)) for step, seq in CHUNK.findall("".join(texts))]


def session_headers(client_for, user) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        client = client_for(user)
        headers.append(
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode())
        )
    return headers


def communicator(execution, headers, query: str = "") -> WebsocketCommunicator:
    # Imported on first use: importing runbooks_site.asgi builds the whole ASGI stack.
    from runbooks_site.asgi import application

    path = f"/ws/executions/{execution.pk}/" + (f"?{query}" if query else "")
    return WebsocketCommunicator(application, path, headers=headers)


async def frames_until(socket, predicate, timeout: float = 5.0) -> tuple[list[str], dict | None]:
    """Text frames received until predicate(all text so far) holds or the socket closes."""
    texts: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = await socket.receive_output(timeout=max(deadline - time.monotonic(), 0.01))
        except TimeoutError:
            break
        if message["type"] == "websocket.close":
            return texts, message
        texts.append(message["text"])
        if predicate("".join(texts)):
            return texts, None
    return texts, None


STATUS = 'id="execution-status"'


async def connected(execution, headers, query: str = "") -> tuple[WebsocketCommunicator, list[str]]:
    """A socket that was accepted and has received the run's state (its status frame comes last);
    returns it with the text frames so far (the backlog of output, then the state)."""
    socket = communicator(execution, headers, query)
    accepted, _ = await socket.connect()
    assert accepted, "the socket was refused"
    texts, closed = await frames_until(socket, lambda text: STATUS in text)
    assert closed is None and STATUS in "".join(texts), (texts, closed)
    return socket, texts


def run(scenario):
    """Run an async scenario on a thread of its own.

    Playwright's sync API (the session's `browser` fixture) leaves an event loop running on the
    main thread once a browser test ran, and async_to_sync refuses to run where a loop runs.
    """
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = async_to_sync(scenario)()
        except BaseException as error:  # re-raised in the test's thread, assertion failures included
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
