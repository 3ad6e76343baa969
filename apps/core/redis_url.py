"""Redis URLs as they may be shown to people: the password never leaves the process."""

from urllib.parse import urlsplit, urlunsplit


def redis_url_for_display(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


# channels-redis receives with BZPOPMIN, which Redis answers after up to 5 s of silence
# (RedisChannelLayer.brpop_timeout); redis-py 8 reads with a 5 s socket_timeout by default, so every
# quiet socket's read timed out at the moment the answer was due (TimeoutError in the web log, the
# consumer dead, the browser reconnecting). The read gets ample slack above the blocking wait; a
# dead Redis is still noticed, and an idle connection is pinged before it is reused.
CHANNEL_LAYER_READ_TIMEOUT_SECONDS = 30
CHANNEL_LAYER_HEALTH_CHECK_SECONDS = 25


def channel_layer_host(url: str) -> dict:
    """A channels-redis `hosts` entry for a Redis URL, with read timeouts that suit blocking receives."""
    return {
        "address": url,
        "socket_timeout": CHANNEL_LAYER_READ_TIMEOUT_SECONDS,
        "socket_connect_timeout": 5,
        "health_check_interval": CHANNEL_LAYER_HEALTH_CHECK_SECONDS,
    }
