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
