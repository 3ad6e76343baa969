"""The format's versions, kinds, fields and attribute names, and the shapes a parse gives back."""

import re
import uuid
from dataclasses import dataclass, field

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
