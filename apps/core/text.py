"""What text PostgreSQL can store: shared by the API's JSON parser and the pages' validation."""

import re

# NUL cannot be stored in PostgreSQL text or jsonb, and a lone UTF-16 surrogate (JSON allows the
# escape "\\ud800") cannot be encoded as UTF-8 at all: both would fail at save time, as a 500.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    found = UNSTORABLE_TEXT.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "NUL characters (\\u0000) are not allowed in text."
    return "A lone UTF-16 surrogate (\\ud800–\\udfff without its pair) is not valid text."
