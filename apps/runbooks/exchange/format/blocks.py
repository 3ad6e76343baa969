"""A block's fence read back: its attributes (JSON after the language), its kind and its config."""

import json
import re

from apps.runbooks.exchange.format.schema import (
    ATTRIBUTES,
    EXCLUDE,
    KIND_FIELDS,
    LANGUAGE_KINDS,
    SHELLS,
    FormatError,
    ParsedBlock,
    Problem,
)
from apps.runbooks.exchange.format.yaml_text import load_yaml


def _attribute_text(value):
    """Runme keeps attribute values as strings; JSON scalars written by hand become their text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) or value is None:
        return json.dumps(value)
    return None


def _boolean(value: str, name: str, line: int, problems: list[Problem]):
    if value in ("true", "false"):
        return value == "true"
    problems.append(Problem(line, f'“{name}” must be "true" or "false", not “{value}”.'))
    return None


def fence_attributes(raw_info: str, line: int, problems: list[Problem]) -> tuple[str, dict] | None:
    """(language, attributes) of a fence's raw info string; None when it is not JSON we can read."""
    language, _, rest = raw_info.strip().partition(" ")
    language = language.strip()
    rest = rest.strip()
    if not rest:
        return language, {}
    try:
        attributes = json.loads(rest)
    except json.JSONDecodeError as error:
        problems.append(Problem(line, f"The attributes after “{language}” are not a JSON object: {error.msg}."))
        return None
    if not isinstance(attributes, dict):
        problems.append(Problem(line, f"The attributes after “{language}” must be a JSON object."))
        return None
    texts = {}
    for name, value in attributes.items():
        text = _attribute_text(value)
        if text is None:
            problems.append(Problem(line, f"The attribute “{name}” must be text, a number or true/false."))
            return None
        texts[name] = text
    return language, texts


def _command_config(language: str, attributes: dict, body: str, line: int, problems: list[Problem]) -> dict:
    """A shell fence's config: the body is the script, the `runbooks.*` attributes its other fields."""
    script = body[:-1] if body.endswith("\n") else body
    config: dict = {"script": script, "shell": language}
    timeout = attributes.pop("runbooks.timeout", None)
    if timeout is not None:
        if re.fullmatch(r"[0-9]{1,6}", timeout):
            config["timeout_seconds"] = int(timeout)
        else:
            problems.append(Problem(line, f"“runbooks.timeout” must be a whole number of seconds, not “{timeout}”."))
    names = attributes.pop("runbooks.credentials", None)
    if names is not None:
        config["credentials"] = [name.strip() for name in names.split(",") if name.strip()]
    flag = attributes.pop("runbooks.continue_on_error", None)
    if flag is not None:
        config["continue_on_error"] = _boolean(flag, "runbooks.continue_on_error", line, problems)
    return config


def _yaml_config(
    kind: str, language: str, attributes: dict, body: str, line: int, problems: list[Problem]
) -> tuple[dict, dict[str, int]] | None:
    """(config, field → file line) of a fence with a YAML body, or None when the body cannot be read."""
    # Always true for these kinds: written so Runme's run-all skips them, not kept.
    attributes.pop(EXCLUDE, None)
    try:
        data, key_lines, _ = load_yaml(body, line + 1)
    except FormatError as error:
        problems.extend(error.problems)
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(Problem(line + 1, f"The body of a {language} block must be a YAML mapping of its fields."))
        return None
    for name in data:
        if name not in KIND_FIELDS[kind]:
            problems.append(
                Problem(
                    key_lines.get(str(name), line + 1),
                    f"Unknown field “{name}” for a {kind} block: use {', '.join(KIND_FIELDS[kind])}.",
                )
            )
    config = {name: value for name, value in data.items() if name in KIND_FIELDS[kind]}
    return config, {name: key_lines[name] for name in config if name in key_lines}


def block_from_fence(language: str, attributes: dict, body: str, line: int, problems: list[Problem]):
    """A ParsedBlock (key may be empty: the caller names it) or None when the fence has problems."""
    before = len(problems)
    key = attributes.pop("name", "")
    title = attributes.pop("runbooks.title", "")
    field_lines: dict[str, int] = {}
    if language in SHELLS:
        kind = "command"
        config = _command_config(language, attributes, body, line, problems)
    else:
        kind = LANGUAGE_KINDS.get(language)
        if kind is None:
            choices = ", ".join([*SHELLS, *LANGUAGE_KINDS])
            problems.append(Problem(line, f"Unknown block kind “{language}”: use one of {choices}."))
            return None
        read = _yaml_config(kind, language, attributes, body, line, problems)
        if read is None:
            return None
        config, field_lines = read
    for name in list(attributes):
        if name.startswith("runbooks."):
            problems.append(Problem(line, f"Unknown attribute “{name}” for a {kind} block."))
            del attributes[name]
    if attributes:
        config[ATTRIBUTES] = attributes
    if len(problems) > before:
        return None
    return ParsedBlock(key=key, title=title, kind=kind, config=config, line=line, field_lines=field_lines)


def name_blocks(blocks: list[ParsedBlock], problems: list[Problem]) -> None:
    seen: dict[str, int] = {}
    for block in blocks:
        if block.key:
            if block.key in seen:
                problems.append(
                    Problem(
                        block.line, f"The key “{block.key}” is already used by the block on line {seen[block.key]}."
                    )
                )
            else:
                seen[block.key] = block.line
    counters: dict[str, int] = {}
    for block in blocks:
        if block.key:
            continue
        base = block.kind.replace("_", "-")
        number = counters.get(base, 0) + 1
        while f"{base}-{number}" in seen:
            number += 1
        counters[base] = number
        block.key = f"{base}-{number}"
        seen[block.key] = block.line
