"""A runbook's content as a file: front matter, the description, one fence per block."""

import json
import re

from apps.runbooks.exchange.format.parse import parse
from apps.runbooks.exchange.format.schema import (
    ATTRIBUTES,
    EXCLUDE,
    FORMAT_VERSION,
    KIND_FIELDS,
    KIND_LANGUAGES,
    OPTIONAL_FIELDS,
    PARAMETER_KEYS,
    FormatError,
)
from apps.runbooks.exchange.format.yaml_text import dump_yaml


def _fence(language: str, attributes: dict, body: str) -> str:
    """A fence that the body cannot close: longer than any run of its character in the body.

    Backticks unless the info string has one (CommonMark forbids backticks in a backtick fence's
    info string); then tildes.
    """
    info = f"{language} {json.dumps(attributes, ensure_ascii=False, separators=(', ', ': '))}"
    char = "~" if "`" in info else "`"
    longest = max((len(run) for run in re.findall(re.escape(char) + "+", body)), default=0)
    marker = char * max(3, longest + 1)
    return f"{marker}{info}\n{body}{marker}\n"


def _with_attributes(known: dict, config: dict) -> dict:
    attributes = dict(known)
    for name in sorted(config.get(ATTRIBUTES) or {}):
        attributes.setdefault(name, config[ATTRIBUTES][name])
    return attributes


def _raw_script(script: str) -> bool:
    return "\r" not in script


def render_block(block: dict) -> str:
    kind, config = block["kind"], block["config"]
    known = {"name": block["key"]}
    if block.get("title"):
        known["runbooks.title"] = block["title"]
    if kind == "command" and _raw_script(config["script"]):
        known["runbooks.timeout"] = str(config["timeout_seconds"])
        if config.get("credentials"):
            known["runbooks.credentials"] = ",".join(config["credentials"])
        known["runbooks.continue_on_error"] = "true" if config["continue_on_error"] else "false"
        # The body ends with one newline more than the script, so a script's own last newline
        # (or its absence) survives: the parser takes exactly one away.
        return _fence(config["shell"], _with_attributes(known, config), config["script"] + "\n")
    known[EXCLUDE] = "true"
    body = {
        name: config[name]
        for name in KIND_FIELDS[kind]
        if name in config and not (name in OPTIONAL_FIELDS and not config[name])
    }
    return _fence(KIND_LANGUAGES[kind], _with_attributes(known, config), dump_yaml(body))


def _front_matter(content: dict, runbook_uuid, *, with_description: bool) -> str:
    data: dict = {"runbooks": {"format": FORMAT_VERSION, "id": str(runbook_uuid)}, "title": content["title"]}
    if with_description and content.get("description"):
        data["description"] = content["description"]
    if content.get("tags"):
        data["tags"] = list(content["tags"])
    if content.get("environment"):
        data["environment"] = content["environment"]
    if content.get("parameters"):
        data["parameters"] = [
            {key: parameter.get(key) for key in PARAMETER_KEYS} for parameter in content["parameters"]
        ]
    return f"---\n{dump_yaml(data)}---\n"


def _document(content: dict, runbook_uuid, *, description_in_front_matter: bool) -> str:
    parts = [_front_matter(content, runbook_uuid, with_description=description_in_front_matter)]
    if content.get("description") and not description_in_front_matter:
        parts.append(content["description"] + "\n")
    parts.extend(render_block(block) for block in content["blocks"])
    return "\n".join(parts)


def render(content: dict, runbook_uuid) -> str:
    """The file of a runbook's content ({title, description, tags, environment, parameters, blocks},
    with environment and credentials by name)."""
    text = _document(content, runbook_uuid, description_in_front_matter=False)
    # The description is Markdown in the file's body when it reads back exactly as itself and
    # leaves the blocks alone; one that would not (a shell fence of its own, an unclosed <pre>,
    # leading blank lines…) goes into the front matter instead.
    try:
        parsed = parse(text)
        survives = parsed.content["description"] == content.get("description", "") and [
            (block.key, block.kind) for block in parsed.blocks
        ] == [(block["key"], block["kind"]) for block in content["blocks"]]
    except FormatError:
        survives = False
    if survives:
        return text
    return _document(content, runbook_uuid, description_in_front_matter=True)
