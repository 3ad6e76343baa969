"""The front matter: the YAML between the first two “---” lines, read into the runbook's fields."""

import uuid

from apps.runbooks.exchange.format.schema import (
    FORMAT_VERSION,
    FRONT_MATTER_KEYS,
    RUNME_FRONT_MATTER_KEYS,
    FormatError,
    Problem,
)
from apps.runbooks.exchange.format.yaml_text import load_yaml


def split_front_matter(lines: list[str]) -> tuple[int, int] | None:
    """(first, end) line indexes of the front matter's YAML, or None without front matter."""
    if not lines or lines[0].rstrip() != "---":
        return None
    for index in range(1, len(lines)):
        # Only "---": YAML itself may end a document with "..." (after a kept-newlines block).
        if lines[index].rstrip() == "---":
            return 1, index
    raise FormatError([Problem(1, "The front matter that starts on line 1 is never closed with a line “---”.")])


def read_front_matter(
    lines: list[str], span: tuple[int, int], problems: list[Problem]
) -> tuple[uuid.UUID | None, dict, dict[str, int], list[int]]:
    """(runbook uuid, content, key → file line, parameter lines) of the front matter at `span`."""
    first, end = span
    key_lines: dict[str, int] = {}
    parameter_lines: list[int] = []
    try:
        data, key_lines, parameter_lines = load_yaml("\n".join(lines[first:end]) + "\n", first + 1)
    except FormatError as error:
        problems.extend(error.problems)
        data = None
    runbook_uuid, content = _read_data(data, key_lines, problems)
    return runbook_uuid, content, key_lines, parameter_lines


def _read_data(data, key_lines: dict[str, int], problems: list[Problem]) -> tuple[uuid.UUID | None, dict]:
    if data is None:
        return None, {}
    if not isinstance(data, dict):
        problems.append(Problem(2, "The front matter must be a YAML mapping (title: …, tags: …)."))
        return None, {}
    for key in data:
        if key not in FRONT_MATTER_KEYS and key not in RUNME_FRONT_MATTER_KEYS:
            problems.append(
                Problem(
                    key_lines.get(str(key), 2), f"Unknown front matter key “{key}”: use {', '.join(FRONT_MATTER_KEYS)}."
                )
            )
    meta = data.get("runbooks")
    runbook_uuid = _read_meta(meta, key_lines.get("runbooks", 2), problems) if meta is not None else None
    return runbook_uuid, _read_content(data, key_lines, problems)


def _read_meta(meta, line: int, problems: list[Problem]) -> uuid.UUID | None:
    """The uuid of `runbooks: {format: 1, id: <uuid>}`, after checking the format it names."""
    if not isinstance(meta, dict):
        problems.append(Problem(line, "“runbooks” must be a mapping: {format: 1, id: <uuid>}."))
        return None
    if meta.get("format") != FORMAT_VERSION:
        problems.append(
            Problem(
                line,
                f"This file is in format {meta.get('format')!r}; this server reads format {FORMAT_VERSION}.",
            )
        )
    unknown = sorted(str(key) for key in meta if key not in ("format", "id"))
    if unknown:
        problems.append(Problem(line, f"Unknown key in “runbooks”: {', '.join(unknown)}."))
    if meta.get("id") is None:
        return None
    try:
        return uuid.UUID(str(meta["id"]))
    except ValueError:
        problems.append(Problem(line + 2, f"“{meta['id']}” is not a uuid."))
        return None


def _read_content(data: dict, key_lines: dict[str, int], problems: list[Problem]) -> dict:
    content = {}
    for key in ("title", "description", "environment"):
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, str):
                problems.append(Problem(key_lines.get(key), f"“{key}” must be text (quote it)."))
            else:
                content[key] = value
    if "tags" in data:
        tags = data["tags"]
        if tags is None:
            content["tags"] = []
        elif not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            problems.append(Problem(key_lines.get("tags"), "“tags” must be a list of words."))
        else:
            content["tags"] = tags
    if "parameters" in data:
        content["parameters"] = data["parameters"] if data["parameters"] is not None else []
    return content
