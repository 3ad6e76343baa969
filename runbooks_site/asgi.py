"""ASGI entry point served by daphne: HTTP through Django, WebSockets through Channels."""

import os
from urllib.parse import urlsplit

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "runbooks_site.settings.dev")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import WebsocketDenier  # noqa: E402
from django.conf import settings  # noqa: E402
from django.http.request import is_same_domain, split_domain_port, validate_host  # noqa: E402

from runbooks_site.routing import websocket_urlpatterns  # noqa: E402

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an http(s) origin, the default port filled in; None for anything else."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.path not in ("", "/"):
        return None
    if parts.query or parts.fragment:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _header(scope, name: bytes) -> str | None:
    for header_name, value in scope.get("headers", []):
        if header_name == name:
            return value.decode("latin1")
    return None


def _is_secure(scope) -> bool:
    """Like Django's request.is_secure(): the socket's own scheme, or the proxy header when configured."""
    if scope.get("scheme") == "wss":
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        # Without SECURE_PROXY_SSL_HEADER, X-Forwarded-Proto is whatever the client said.
        return False
    name, expected = proxy_header
    value = _header(scope, name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin1"))
    return value is not None and value.split(",", 1)[0].strip() == expected


def own_origin(scope) -> Origin | None:
    """The origin of the page that may open this socket: the Host it was sent to, in the same scheme.

    None when the Host is missing or not in ALLOWED_HOSTS (Django answers 400 to such an HTTP request;
    Channels checks nothing by itself), which also stops a DNS-rebinding page on a host of its own.
    """
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return parse_origin(f"{'https' if _is_secure(scope) else 'http'}://{host}")


def origin_is_trusted(origin: Origin) -> bool:
    for pattern in settings.CSRF_TRUSTED_ORIGINS:
        # "https://*.example.com" is a subdomain wildcard, as Django's CSRF check reads it.
        wildcard = "://*." in pattern
        trusted = parse_origin(pattern.replace("://*.", "://", 1))
        if trusted is None or (trusted[0], trusted[2]) != (origin[0], origin[2]):
            continue
        if origin[1] == trusted[1] or (wildcard and is_same_domain(origin[1], "." + trusted[1])):
            return True
    return False


class SameOriginValidator:
    """Opens a socket only for a page of this site: Origin must match scheme, host and port exactly.

    Channels' AllowedHostsOriginValidator compared host names only, so a page on another port of
    the same host (`http://localhost:9999`, any local dev server) could open sockets with the
    user's cookies. Allowed: the socket's own Host in the same scheme (http for ws, https for wss
    or a trusted proxy's X-Forwarded-Proto), or an origin listed in CSRF_TRUSTED_ORIGINS. A socket
    without Origin is refused: browsers always send it, and cookie-less clients use the API.
    """

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator guards WebSocket connections only")
        if self.allows(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)

    @staticmethod
    def allows(scope) -> bool:
        own = own_origin(scope)
        sent = _header(scope, b"origin")
        origin = parse_origin(sent) if sent else None
        if own is None or origin is None:
            return False
        return origin == own or origin_is_trusted(origin)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
