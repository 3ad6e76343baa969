"""Markdown rendered safely everywhere: markdown-it-py without raw HTML, then nh3 as a second wall.

Task lists (`- [ ] posted`) render as disabled checkboxes (mdit-py-plugins' tasklists): a runbook
is a document, the ticks are the author's, not a form to fill in. nh3 keeps those inputs only as
disabled checkboxes, whatever else might reach it.
"""

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.tasklists import tasklists_plugin

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "input", "kbd", "label", "li", "ol", "p", "pre", "s", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
}
# Task-list checkboxes: only these values survive, and every input is forced to a disabled checkbox.
TAG_ATTRIBUTE_VALUES = {"input": {"checked": {"checked"}}}
SET_TAG_ATTRIBUTE_VALUES = {"input": {"type": "checkbox", "disabled": "disabled"}}
ALLOWED_CLASSES = {"ul": {"contains-task-list"}, "li": {"task-list-item"}, "input": {"task-list-item-checkbox"}}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # html=False: raw HTML in the source is shown as text, never passed through.
    # label=True wraps each item's text and its checkbox in a <label>: the box has an accessible name.
    return (
        MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": False})
        .enable(["table", "strikethrough"])
        .use(tasklists_plugin, label=True)
    )


def render_markdown(source: str) -> str:
    """Return sanitised HTML: no scripts, event handlers, javascript: URLs or iframes."""
    html = _parser().render(source or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        tag_attribute_values=TAG_ATTRIBUTE_VALUES,
        set_tag_attribute_values=SET_TAG_ATTRIBUTE_VALUES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


EXCERPT_BLOCKS = {"paragraph_open", "heading_open"}
SKIPPED_CONTAINERS = {"table_open": "table_close", "blockquote_open": "blockquote_close"}


def _inline_text(token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_inline_text(child))
    return "".join(parts).strip()


def markdown_excerpt(source: str, limit: int = 140) -> str:
    """Plain text of the first paragraphs and headings, for a list: tables and code are left out
    (their cells would run together into a word soup), cut at a word boundary."""
    tokens = _parser().parse(source or "")
    pieces: list[str] = []
    skip_until = None
    for index, token in enumerate(tokens):
        if skip_until is not None:
            if (token.type, token.level) == skip_until:
                skip_until = None
            continue
        if token.type in SKIPPED_CONTAINERS:
            skip_until = (SKIPPED_CONTAINERS[token.type], token.level)
        elif token.type in EXCERPT_BLOCKS and index + 1 < len(tokens):
            text = _inline_text(tokens[index + 1])
            if text:
                pieces.append(text if text[-1] in ".:!?…" else f"{text}.")
        if sum(len(piece) + 1 for piece in pieces) > limit:
            break
    text = " ".join(pieces)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"
