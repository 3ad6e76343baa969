"""Issue 12 #7: the WebSocket Origin check ignored the port (`http://localhost:9999` was accepted).

Through the real ASGI application (origin check, session auth, consumer) and real Redis: a page's
Origin must match the socket's own scheme, host and port, or an origin in CSRF_TRUSTED_ORIGINS.
"""

import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from apps.core.redis_url import channel_layer_host
from apps.executions.models import Execution
from tests.support.sockets import communicator, run


@pytest.fixture(autouse=True)
def channel_layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [channel_layer_host(settings.REDIS_URL)], "prefix": f"test-{uuid.uuid4().hex[:12]}"},
        }
    }


@pytest.fixture
def execution(cast, transactional_db):
    return Execution.objects.create(
        runbook=cast.runbook, snapshot={"blocks": []}, status="running", triggered_by=cast.runner,
        started_at=timezone.now(),
    )  # fmt: skip


@pytest.fixture
def cookie(cast, client_for) -> tuple[bytes, bytes]:
    client = client_for(cast.viewer)
    return b"cookie", f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def connects(execution, headers: list[tuple[bytes, bytes]], *, scheme: str = "ws") -> bool:
    """Whether the socket opens; run on a thread of its own (Playwright may own this thread's loop)."""

    async def scenario() -> bool:
        socket = communicator(execution, headers)
        socket.scope["scheme"] = scheme
        connected, _ = await socket.connect(timeout=5)
        await socket.disconnect()
        return connected

    return run(scenario)


def test_it_refuses_a_page_on_another_port_of_the_same_host_as_reported(execution, cookie):
    headers = [(b"host", b"localhost:8000"), (b"origin", b"http://localhost:9999"), cookie]
    assert not connects(execution, headers)


def test_it_accepts_a_page_of_the_site_itself(execution, cookie):
    headers = [(b"host", b"localhost:8000"), (b"origin", b"http://localhost:8000"), cookie]
    assert connects(execution, headers)


def test_it_refuses_a_socket_without_origin(execution, cookie):
    assert not connects(execution, [(b"host", b"localhost:8000"), cookie])


@pytest.mark.parametrize("origin", ["null", "http://localhost:8000/path", "http://user@localhost:8000", "garbage"])
def test_it_refuses_an_origin_that_is_not_plain(execution, cookie, origin):
    assert not connects(execution, [(b"host", b"localhost:8000"), (b"origin", origin.encode()), cookie])


def test_it_refuses_the_default_port_when_the_site_is_on_another(execution, cookie):
    assert not connects(execution, [(b"host", b"localhost:8000"), (b"origin", b"http://localhost"), cookie])


def test_it_refuses_an_https_page_for_a_plain_socket_and_the_reverse(execution, cookie):
    assert not connects(execution, [(b"host", b"localhost:8000"), (b"origin", b"https://localhost:8000"), cookie])
    assert not connects(
        execution, [(b"host", b"localhost:8000"), (b"origin", b"http://localhost:8000"), cookie], scheme="wss"
    )
    assert connects(
        execution, [(b"host", b"localhost:8000"), (b"origin", b"https://localhost:8000"), cookie], scheme="wss"
    )


def test_it_believes_x_forwarded_proto_only_when_a_trusted_proxy_is_configured(execution, cookie, settings):
    headers = [
        (b"host", b"localhost"),
        (b"x-forwarded-proto", b"https"),
        (b"origin", b"https://localhost"),
        cookie,
    ]
    settings.SECURE_PROXY_SSL_HEADER = None
    assert not connects(execution, headers)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert connects(execution, headers)


def test_it_refuses_a_host_that_is_not_allowed_even_with_a_matching_origin(execution, cookie):
    # A DNS-rebinding page: its own name points at us, so Host and Origin agree.
    headers = [(b"host", b"evil.example:8000"), (b"origin", b"http://evil.example:8000"), cookie]
    assert not connects(execution, headers)


def test_it_accepts_a_csrf_trusted_origin_with_its_exact_port(execution, cookie, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://runbooks.example.com", "https://*.ops.example.com:8443"]
    host = (b"host", b"localhost:8000")
    assert connects(execution, [host, (b"origin", b"https://runbooks.example.com"), cookie])
    assert connects(execution, [host, (b"origin", b"https://eu.ops.example.com:8443"), cookie])
    assert not connects(execution, [host, (b"origin", b"https://runbooks.example.com:444"), cookie])
    assert not connects(execution, [host, (b"origin", b"http://runbooks.example.com"), cookie])
    assert not connects(execution, [host, (b"origin", b"https://eu.ops.example.com"), cookie])
