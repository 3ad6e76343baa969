"""A runbook file read back: the front matter, then the body's prose and fences in order.

The first prose is the description (unless the front matter has one); later prose between fences
becomes instruction blocks, and fences of other languages stay part of the prose around them.
"""

import uuid

from markdown_it import MarkdownIt
from markdown_it.token import Token

from apps.runbooks.exchange.format.blocks import block_from_fence, fence_attributes, name_blocks
from apps.runbooks.exchange.format.front_matter import read_front_matter, split_front_matter
from apps.runbooks.exchange.format.schema import FENCE_OPEN_RE, SHELLS, FormatError, ParsedBlock, ParsedFile, Problem
from apps.runbooks.exchange.format.yaml_text import load_yaml


def _prose(lines: list[str], start: int, end: int) -> tuple[str, int]:
    """The Markdown of lines[start:end] without blank lines around it, and its first file line."""
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(lines[start:end]), start + 1


def normalise_newlines(text: str) -> str:
    # CommonMark's line ends; Markdown cannot tell them apart.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _runbook_fence(token: Token, lines: list[str], body_start: int) -> tuple[int, int, str] | None:
    """(first, end) file line indexes and raw info string of a top-level runbook fence, else None."""
    if token.type != "fence" or token.level != 0 or token.map is None:
        return None
    start, end = body_start + token.map[0], body_start + token.map[1]
    match = FENCE_OPEN_RE.match(lines[start])
    # The info string as written: markdown-it's is unescaped, which would break JSON escapes.
    raw_info = match.group(2) if match else token.info
    language = raw_info.strip().partition(" ")[0]
    if language not in SHELLS and not language.startswith("runbooks-"):
        return None  # another language's code: part of the prose around it
    return start, end, raw_info


def _place_prose(
    lines: list[str], start: int, end: int, content: dict, key_lines: dict[str, int], blocks: list[ParsedBlock]
) -> None:
    """lines[start:end] as the description while there is none yet, else as an instruction block."""
    prose, prose_line = _prose(lines, start, end)
    if "description" not in content:
        content["description"] = prose
        key_lines.setdefault("description", prose_line)
    elif prose:
        blocks.append(ParsedBlock("", "", "instruction", {"markdown": prose}, prose_line))


def _body_blocks(
    lines: list[str], body_start: int, content: dict, key_lines: dict[str, int], problems: list[Problem]
) -> list[ParsedBlock]:
    # markdown-it on the body only, its lines shifted back to the file's.
    tokens = MarkdownIt("commonmark").parse("\n".join(lines[body_start:]))
    blocks: list[ParsedBlock] = []
    cursor = body_start  # first file line (0-based) not yet given to the description or a block
    for token in tokens:
        fence = _runbook_fence(token, lines, body_start)
        if fence is None:
            continue
        start, end, raw_info = fence
        parsed = fence_attributes(raw_info, start + 1, problems)
        _place_prose(lines, cursor, start, content, key_lines, blocks)
        cursor = end
        if parsed is None:
            continue
        language, attributes = parsed
        block = block_from_fence(language, attributes, token.content, start + 1, problems)
        if block is not None:
            blocks.append(block)
    _place_prose(lines, cursor, len(lines), content, key_lines, blocks)
    return blocks


def parse(text: str) -> ParsedFile:
    """Read a runbook file, or raise FormatError with every problem found."""
    lines = normalise_newlines(text.removeprefix("\ufeff")).split("\n")
    problems: list[Problem] = []
    span = split_front_matter(lines)
    runbook_uuid, content, key_lines, parameter_lines = None, {}, {}, []
    body_start = 0
    if span is not None:
        runbook_uuid, content, key_lines, parameter_lines = read_front_matter(lines, span, problems)
        body_start = span[1] + 1
    blocks = _body_blocks(lines, body_start, content, key_lines, problems)
    name_blocks(blocks, problems)
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
        span = split_front_matter(lines)
        if span is None:
            return None
        data, _, _ = load_yaml("\n".join(lines[span[0] : span[1]]) + "\n", 2)
        return uuid.UUID(str(data["runbooks"]["id"]))
    except (FormatError, TypeError, KeyError, ValueError):
        return None
