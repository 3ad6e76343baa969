"""The API's request bodies: JSON only, never more than MAX_REQUEST_BYTES read, and only values PostgreSQL (or
a client) can take back.

Apart from apps.core.api on purpose: DRF's settings import LimitedJSONParser (DEFAULT_PARSER_CLASSES) while
rest_framework.views loads, so this module must not import rest_framework.views itself (apps.core.api does,
for DRF's own exception handler); importing it first would otherwise find it half initialised.
"""

import io
import math

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import JSONRenderer

from apps.core.errors import InvalidInput, TooLarge
from apps.core.text import text_problem

MAX_REQUEST_BYTES = 16 * 1024 * 1024
# The deepest valid body (a block's config inside the block list) is four levels; 32 leaves room for
# any client's wrapping while keeping every later walk over the data far from Python's recursion limit.
MAX_JSON_DEPTH = 32
# PostgreSQL's bigint: the widest integer column (and the widest a client should expect back).
MIN_INT, MAX_INT = -(2**63), 2**63 - 1
MAX_REPORTED_PROBLEMS = 10


def _json_path(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _scalar_problem(value) -> str | None:
    """What is wrong with one leaf value, or None (containers are walked, not judged)."""
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int) and not MIN_INT <= value <= MAX_INT:
        return "The number is out of range: whole numbers must fit in 64 bits."
    if isinstance(value, float) and not math.isfinite(value):
        return "The number is out of range."
    return None


def _children(value, path: tuple) -> list[tuple[object, tuple]]:
    """A container's items with their paths, in reverse so the stack visits them in document order."""
    if isinstance(value, dict):
        children = []
        for key, item in reversed(value.items()):
            if text_problem(key):
                # The key itself is the bad text: report it under its escaped spelling.
                children.append((key, (*path, key.encode("unicode_escape").decode("ascii"))))
            else:
                children.append((item, (*path, key)))
        return children
    if isinstance(value, list):
        return [(item, (*path, index)) for index, item in reversed(list(enumerate(value)))]
    return []


def check_json_values(data) -> None:
    """InvalidInput naming every field whose value PostgreSQL (or a client) could not take back.

    One check for every API body, so no view or service can forget it: text with NUL or a lone
    surrogate, integers outside 64 bits, non-finite numbers, nesting past MAX_JSON_DEPTH. Errors are
    filed under the top-level field, with the full path in the message.
    """
    problems: dict[str, list[str]] = {}
    count = 0
    stack: list[tuple[object, tuple]] = [(data, ())]
    while stack and count < MAX_REPORTED_PROBLEMS:
        value, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            problem = f"Nested too deep: at most {MAX_JSON_DEPTH} levels of lists and objects."
        else:
            problem = _scalar_problem(value)
            stack.extend(_children(value, path))
        if problem:
            count += 1
            field = path[0] if path and isinstance(path[0], str) else "non_field_errors"
            where = _json_path(path)
            problems.setdefault(field, []).append(problem if len(path) <= 1 else f"{where}: {problem}")
    if problems:
        raise InvalidInput(problems)


def read_limited(stream, declared_length: str | None, limit: int) -> bytes | None:
    """A request body of at most `limit` bytes, or None when it is over, by its declared length or by
    what arrives: the stream is read up to the limit, so a lying or missing Content-Length cannot make
    the process hold more."""
    try:
        if declared_length and int(declared_length) > limit:
            return None
    except ValueError:
        pass
    body = stream.read(limit + 1)
    return None if len(body) > limit else body


class LimitedJSONParser(BaseParser):
    """JSON only, and never more than MAX_REQUEST_BYTES read into memory.

    Not a JSONParser subclass on purpose: DRF reads `request.body` for those, which caps bodies at
    Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB, answered as an HTML 400) — below the size of a
    valid runbook with many long scripts. This reads the stream itself, up to our own limit.
    """

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        raw = read_limited(stream, declared, MAX_REQUEST_BYTES)
        if raw is None:
            raise TooLarge({"non_field_errors": [f"The request body is over {MAX_REQUEST_BYTES:,} bytes."]})
        try:
            data = JSONParser().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            # The C decoder gives up long before memory does; answer it like any other bad JSON.
            raise ParseError(f"JSON parse error - nested too deep: at most {MAX_JSON_DEPTH} levels.") from None
        check_json_values(data)
        return data
