"""The runbook file format (docs/runbook-format.md): render a runbook as Markdown, and parse one back.

This module knows text only: credentials and environments are names here, and nothing touches the
database. `render` and `parse` are exact inverses for everything the services store, so exporting
an unchanged runbook gives the same bytes and a round trip gives the same content.

Line numbers are 1-based lines of the file, so every problem can say where it is.
"""

import json
import re
import uuid
from dataclasses import dataclass, field

import yaml
from markdown_it import MarkdownIt

FORMAT_VERSION = 1
SHELLS = ("sh", "bash")
# Fence languages of the kinds that are not shell: YAML bodies, skipped by Runme's run-all.
KIND_LANGUAGES = {
    "instruction": "runbooks-instruction",
    "api_call": "runbooks-http",
    "conditional": "runbooks-if",
    "timer": "runbooks-timer",
    # A command whose script a Markdown fence cannot carry as is (a carriage return is a line end
    # in Markdown): the script goes into a YAML body instead.
    "command": "runbooks-command",
}
LANGUAGE_KINDS = {language: kind for kind, language in KIND_LANGUAGES.items()}
# The fields of each kind's YAML body, in the order they are written.
KIND_FIELDS = {
    "instruction": ("gate", "markdown"),
    "api_call": (
        "method",
        "url",
        "headers",
        "body",
        "credential",
        "expected_status",
        "timeout_seconds",
        "continue_on_error",
        "follow_redirects",
    ),
    "conditional": ("expression", "on_true", "on_false"),
    "timer": ("seconds",),
    "command": ("shell", "script", "timeout_seconds", "credentials", "continue_on_error"),
}
OPTIONAL_FIELDS = {"follow_redirects"}  # written only when set, like the config keeps it
FRONT_MATTER_KEYS = ("runbooks", "title", "description", "tags", "environment", "parameters")
# Runme's own front matter (its document id, default shell, …): read and left out, as Runme-only.
RUNME_FRONT_MATTER_KEYS = ("runme", "shell", "cwd", "skipPrompts", "terminalRows", "category")
PARAMETER_KEYS = ("name", "label", "default", "required", "choices")
EXCLUDE = "excludeFromRunAll"
ATTRIBUTES = "attributes"
COMMAND_ATTRIBUTES = ("runbooks.title", "runbooks.timeout", "runbooks.credentials", "runbooks.continue_on_error")
OTHER_ATTRIBUTES = ("runbooks.title",)
FENCE_OPEN_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


@dataclass
class Problem:
    line: int | None
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "message": self.message}


class FormatError(Exception):
    """The file cannot be read; `problems` says every reason found, each with its line."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"line {p.line}: {p.message}" for p in problems))
        self.problems = problems


@dataclass
class ParsedBlock:
    key: str
    title: str
    kind: str
    config: dict  # credentials by name
    line: int  # the fence's first line (or the prose's)
    field_lines: dict[str, int] = field(default_factory=dict)

    def as_content(self) -> dict:
        return {"key": self.key, "title": self.title, "kind": self.kind, "config": self.config}


@dataclass
class ParsedFile:
    uuid: uuid.UUID | None
    content: dict  # {title, description, tags, environment (a name or None), parameters, blocks}
    blocks: list[ParsedBlock]
    field_lines: dict[str, int]  # front matter key → line
    parameter_lines: list[int]
    has_front_matter: bool


# --- YAML ---------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Stable YAML: keys in the order given, multi-line text as literal blocks where YAML allows."""


# Characters YAML reads as line breaks (or drops) unless they are escaped in a double-quoted scalar.
_NEEDS_ESCAPES = re.compile("[\r\x85\u2028\u2029\ufeff\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # A NEL or line separator PyYAML would write as is in plain or single-quoted text and read back
    # as a space; elsewhere it falls back to a quoted style by itself where a literal block could
    # not carry the text exactly (trailing spaces, tabs).
    style = '"' if _NEEDS_ESCAPES.search(value) else ("|" if "\n" in value else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data) -> str:
    # A width nothing reaches: long values stay on one line, so a change is a one-line diff.
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1_000_000
    )


class _Loader(yaml.SafeLoader):
    """safe_load without aliases: `*name` can expand a small file into a huge structure."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in runbook files", event.start_mark
            )
        return super().compose_node(parent, index)


def load_yaml(text: str, first_line: int) -> tuple[object, dict[str, int], list[int]]:
    """(data, top-level key → file line, file line of each item of a top-level `parameters` list).

    `first_line` is the file line of the text's first line. Raises FormatError with the line of a
    YAML error.
    """
    try:
        # The reader refuses characters YAML cannot hold (C1 controls …) as soon as it is made.
        loader = _Loader(text)
    except yaml.YAMLError as error:
        raise FormatError([Problem(first_line, f"Invalid YAML: {error}.")]) from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = first_line + mark.line if mark is not None else first_line
        raise FormatError([Problem(line, f"Invalid YAML: {error.problem or error.context}.")]) from None
    except yaml.YAMLError as error:
        raise FormatError([Problem(first_line, f"Invalid YAML: {error}.")]) from None
    finally:
        loader.dispose()
    key_lines: dict[str, int] = {}
    item_lines: list[int] = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key_lines.setdefault(key_node.value, first_line + key_node.start_mark.line)
                if key_node.value == "parameters" and isinstance(value_node, yaml.SequenceNode):
                    item_lines = [first_line + item.start_mark.line for item in value_node.value]
    return data, key_lines, item_lines


# --- rendering ----------------------------------------------------------------------------------


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


# --- parsing ------------------------------------------------------------------------------------


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


def _split_front_matter(lines: list[str]) -> tuple[int, int] | None:
    """(first, end) line indexes of the front matter's YAML, or None without front matter."""
    if not lines or lines[0].rstrip() != "---":
        return None
    for index in range(1, len(lines)):
        # Only "---": YAML itself may end a document with "..." (after a kept-newlines block).
        if lines[index].rstrip() == "---":
            return 1, index
    raise FormatError([Problem(1, "The front matter that starts on line 1 is never closed with a line “---”.")])


def _read_front_matter(data, key_lines: dict[str, int], problems: list[Problem]) -> tuple[uuid.UUID | None, dict]:
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
    runbook_uuid = None
    if meta is not None:
        line = key_lines.get("runbooks", 2)
        if not isinstance(meta, dict):
            problems.append(Problem(line, "“runbooks” must be a mapping: {format: 1, id: <uuid>}."))
        else:
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
            if meta.get("id") is not None:
                try:
                    runbook_uuid = uuid.UUID(str(meta["id"]))
                except ValueError:
                    problems.append(Problem(line + 2, f"“{meta['id']}” is not a uuid."))
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
    return runbook_uuid, content


def _fence_attributes(raw_info: str, line: int, problems: list[Problem]) -> tuple[str, dict] | None:
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


def _block_from_fence(language: str, attributes: dict, body: str, line: int, problems: list[Problem]):
    """A ParsedBlock (key may be empty: the caller names it) or None when the fence has problems."""
    before = len(problems)
    key = attributes.pop("name", "")
    title = attributes.pop("runbooks.title", "")
    field_lines: dict[str, int] = {}
    if language in SHELLS:
        kind = "command"
        script = body[:-1] if body.endswith("\n") else body
        config: dict = {"script": script, "shell": language}
        timeout = attributes.pop("runbooks.timeout", None)
        if timeout is not None:
            if re.fullmatch(r"[0-9]{1,6}", timeout):
                config["timeout_seconds"] = int(timeout)
            else:
                problems.append(
                    Problem(line, f"“runbooks.timeout” must be a whole number of seconds, not “{timeout}”.")
                )
        names = attributes.pop("runbooks.credentials", None)
        if names is not None:
            config["credentials"] = [name.strip() for name in names.split(",") if name.strip()]
        flag = attributes.pop("runbooks.continue_on_error", None)
        if flag is not None:
            config["continue_on_error"] = _boolean(flag, "runbooks.continue_on_error", line, problems)
    else:
        kind = LANGUAGE_KINDS.get(language)
        if kind is None:
            choices = ", ".join([*SHELLS, *LANGUAGE_KINDS])
            problems.append(Problem(line, f"Unknown block kind “{language}”: use one of {choices}."))
            return None
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
        field_lines = {name: key_lines[name] for name in config if name in key_lines}
    for name in list(attributes):
        if name.startswith("runbooks."):
            problems.append(Problem(line, f"Unknown attribute “{name}” for a {kind} block."))
            del attributes[name]
    if attributes:
        config[ATTRIBUTES] = attributes
    if len(problems) > before:
        return None
    return ParsedBlock(key=key, title=title, kind=kind, config=config, line=line, field_lines=field_lines)


def _prose(lines: list[str], start: int, end: int) -> tuple[str, int]:
    """The Markdown of lines[start:end] without blank lines around it, and its first file line."""
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end]), start + 1


def _name_blocks(blocks: list[ParsedBlock], problems: list[Problem]) -> None:
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


def normalise_newlines(text: str) -> str:
    # CommonMark's line ends; Markdown cannot tell them apart.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse(text: str) -> ParsedFile:
    """Read a runbook file, or raise FormatError with every problem found."""
    text = normalise_newlines(text.removeprefix("\ufeff"))
    lines = text.split("\n")
    problems: list[Problem] = []
    span = _split_front_matter(lines)
    runbook_uuid, content, key_lines, parameter_lines = None, {}, {}, []
    body_start = 0
    if span is not None:
        first, end = span
        try:
            data, key_lines, parameter_lines = load_yaml("\n".join(lines[first:end]) + "\n", first + 1)
        except FormatError as error:
            problems.extend(error.problems)
            data = None
        runbook_uuid, content = _read_front_matter(data, key_lines, problems)
        body_start = end + 1
    # markdown-it on the body only, its lines shifted back to the file's.
    body_lines = lines[body_start:]
    tokens = MarkdownIt("commonmark").parse("\n".join(body_lines))
    blocks: list[ParsedBlock] = []
    cursor = body_start  # first file line (0-based) not yet given to the description or a block
    prose_is_description = "description" not in content
    for token in tokens:
        if token.type != "fence" or token.level != 0 or token.map is None:
            continue
        start, end = body_start + token.map[0], body_start + token.map[1]
        match = FENCE_OPEN_RE.match(lines[start])
        # The info string as written: markdown-it's is unescaped, which would break JSON escapes.
        raw_info = match.group(2) if match else token.info
        language = raw_info.strip().partition(" ")[0]
        if language not in SHELLS and not language.startswith("runbooks-"):
            continue  # another language's code: part of the prose around it
        parsed = _fence_attributes(raw_info, start + 1, problems)
        prose, prose_line = _prose(lines, cursor, start)
        if prose_is_description:
            content["description"] = prose
            key_lines.setdefault("description", prose_line)
            prose_is_description = False
        elif prose:
            blocks.append(ParsedBlock("", "", "instruction", {"markdown": prose}, prose_line))
        cursor = end
        if parsed is None:
            continue
        language, attributes = parsed
        block = _block_from_fence(language, attributes, token.content, start + 1, problems)
        if block is not None:
            blocks.append(block)
    prose, prose_line = _prose(lines, cursor, len(lines))
    if prose_is_description:
        content["description"] = prose
        key_lines.setdefault("description", prose_line)
    elif prose:
        blocks.append(ParsedBlock("", "", "instruction", {"markdown": prose}, prose_line))
    _name_blocks(blocks, problems)
    if problems:
        raise FormatError(sorted(problems, key=lambda problem: problem.line or 0))
    content.setdefault("title", _title_from(content.get("description", "")))
    content.setdefault("tags", [])
    content.setdefault("environment", None)
    content.setdefault("parameters", [])
    content["blocks"] = [block.as_content() for block in blocks]
    return ParsedFile(
        uuid=runbook_uuid,
        content=content,
        blocks=blocks,
        field_lines=key_lines,
        parameter_lines=parameter_lines,
        has_front_matter=span is not None,
    )


def _title_from(description: str) -> str:
    """A plain Markdown file's title: its first heading, else its first line (the service checks it)."""
    for line in description.split("\n"):
        if line.strip():
            return line.strip().lstrip("#").strip()[:200]
    return ""


def read_uuid(text: str) -> uuid.UUID | None:
    """The runbook uuid a file's front matter names, or None; cheap, for finding existing files."""
    lines = normalise_newlines(text.removeprefix("\ufeff")).split("\n")
    try:
        span = _split_front_matter(lines)
        if span is None:
            return None
        data, _, _ = load_yaml("\n".join(lines[span[0] : span[1]]) + "\n", 2)
        return uuid.UUID(str(data["runbooks"]["id"]))
    except (FormatError, TypeError, KeyError, ValueError):
        return None
