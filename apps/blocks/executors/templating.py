"""Templates and expressions over a run's data, in Jinja2's immutable sandbox (never `eval`).

The context is {"params": {...}, "steps": {key: {status, exit_code, output, result}}}. What a value
may do depends on where it lands, so each slot has its own renderer:

- URL: every `{{ }}` value is percent-encoded with nothing kept safe, so a value fills its slot
  and cannot add a scheme, host, port, path segment, query or fragment of its own.
- Body: JSON-escaped when the body is JSON, otherwise text as is. A body counts as JSON when its
  Content-Type header says so (`application/json`, `…+json`) or, without a Content-Type, when the
  template starts with `{` or `[`. A JSON body must still parse after rendering: a value placed
  outside quotes cannot smuggle extra keys in, it makes the request fail instead.
- Header values: text, refused when the result contains a line break (header injection).

Errors name the field and the missing path: "url: 'steps.check' is undefined". Every value an
expression builds, and what a template renders to, is bounded (apps.blocks.executors.limits): past a
limit the field fails with a message saying which ("expression: the expression would build a string
of more than 65,536 characters; …").
"""

import json
import re
from typing import Any
from urllib.parse import quote

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.utils import missing
from markupsafe import Markup

from apps.blocks.executors.limits.budget import LimitExceeded, budgeted, checked
from apps.blocks.executors.limits.sandbox import BoundedSandbox

IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class RenderError(Exception):
    """A template or expression that cannot be rendered; the message names the field."""


class PathDict(dict):
    """A dict that knows where it sits in the context, so an undefined key is named in full."""

    _path = ""


class PathList(list):
    _path = ""


def _child_path(parent: str, key: Any) -> str:
    if isinstance(key, str) and IDENTIFIER_RE.match(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{key!r}]"


def with_paths(value: Any, path: str = "") -> Any:
    """A copy of the plain JSON-like `value` whose dicts and lists carry their dotted path."""
    if isinstance(value, dict):
        copy = PathDict({key: with_paths(item, _child_path(path, key)) for key, item in value.items()})
        copy._path = path
        return copy
    if isinstance(value, (list, tuple)):
        copy = PathList(with_paths(item, _child_path(path, index)) for index, item in enumerate(value))
        copy._path = path
        return copy
    return value


class PathUndefined(StrictUndefined):
    """StrictUndefined whose message is the whole path ('steps.check' rather than 'check')."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        parent = "" if self._undefined_obj is missing else getattr(self._undefined_obj, "_path", None)
        if parent is None:
            return super()._undefined_message
        return f"'{_child_path(parent, self._undefined_name)}' is undefined"


class RunbookSandbox(BoundedSandbox):
    """The bounded immutable sandbox (apps.blocks.executors.limits.sandbox) over a run's data."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Run data wins over dict methods: `steps.x.result.values` is the step's published values,
        # not dict.values (Jinja tries the attribute first, which would shadow keys like values/items).
        if isinstance(obj, PathDict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def _environment(finalize=None) -> RunbookSandbox:
    return RunbookSandbox(undefined=PathUndefined, autoescape=False, finalize=finalize)


def _url_value(value: Any) -> str:
    return quote(_as_text(value), safe="")


def _json_value(value: Any) -> str:
    if isinstance(value, Markup):
        # Only `|tojson` or an author's `|safe` make Markup: already the JSON the author meant.
        return str(value)
    if isinstance(value, str):
        # Escaped string content without quotes: `"{{ x }}"` stays one JSON string whatever x holds.
        return json.dumps(value)[1:-1]
    return json.dumps(value)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


text_environment = _environment(finalize=_as_text)
url_environment = _environment(finalize=_url_value)
json_environment = _environment(finalize=_json_value)
expression_environment = _environment()


def make_context(params: dict, steps: dict) -> dict:
    return {"params": with_paths(dict(params), "params"), "steps": with_paths(dict(steps), "steps")}


# What evaluating can raise for bad input; deep nesting fails in Python's own compiler or stack.
EVALUATION_ERRORS = (TemplateError, ArithmeticError, TypeError, ValueError, OverflowError, RecursionError, MemoryError)


def _describe(error: Exception, noun: str) -> str:
    if isinstance(error, LimitExceeded):
        return error.describe(noun)
    if isinstance(error, TemplateSyntaxError):
        return f"template syntax error on line {error.lineno}: {error.message}"
    if isinstance(error, RecursionError):
        return f"the {noun} is nested too deeply"
    if isinstance(error, MemoryError):
        return f"the {noun} ran out of memory"
    message = getattr(error, "message", None) or str(error)
    return message


def _compile(compile_it, source: str):
    """Compile in the sandbox; TemplateSyntaxError for anything that does not compile, deep nesting included."""
    try:
        return compile_it(source)
    except (SyntaxError, RecursionError, MemoryError):
        # Python's compiler refuses the generated code of very deep nesting; say so as a syntax error.
        raise TemplateSyntaxError("it is nested too deeply", 1) from None


def check_template(template: str) -> None:
    """Raise TemplateSyntaxError when `template` does not compile in the sandbox (for save time)."""
    _compile(text_environment.compile, template)


def check_expression(expression: str) -> None:
    """Raise TemplateSyntaxError when `expression` does not compile in the sandbox (for save time)."""
    _compile(expression_environment.compile_expression, expression)


def _render(environment: RunbookSandbox, template: str, context: dict, field: str) -> str:
    try:
        with budgeted(context):
            compiled = _compile(environment.from_string, template)
            return compiled.render(context)
    except EVALUATION_ERRORS as error:
        raise RenderError(f"{field}: {_describe(error, 'template')}") from None


def render_text(template: str, context: dict, *, field: str = "text") -> str:
    return _render(text_environment, template, context, field)


def render_url(template: str, context: dict, *, field: str = "url") -> str:
    return _render(url_environment, template, context, field)


def is_json_body(template: str, content_type: str | None) -> bool:
    if content_type:
        media_type = content_type.split(";", 1)[0].strip().lower()
        return media_type == "application/json" or media_type.endswith("+json")
    return template.lstrip().startswith(("{", "["))


def render_json_body(template: str, context: dict, *, field: str = "body") -> str:
    rendered = _render(json_environment, template, context, field)
    if rendered.strip():
        try:
            json.loads(rendered)
        except ValueError as error:
            raise RenderError(f"{field}: the rendered body is not valid JSON ({error})") from None
    return rendered


def render_body(template: str, context: dict, *, content_type: str | None) -> str:
    if is_json_body(template, content_type):
        return render_json_body(template, context)
    return render_text(template, context, field="body")


def render_header(value: str, context: dict, *, name: str = "") -> str:
    field = f"headers.{name}" if name else "header"
    rendered = render_text(value, context, field=field)
    if any(char in rendered for char in "\r\n\0"):
        raise RenderError(f"{field}: the rendered value contains a line break, which could inject headers")
    return rendered


def compile_expression(expression: str, *, field: str = "expression"):
    """A callable(context) -> value for a sandboxed expression; RenderError on a syntax error."""
    try:
        compiled = _compile(
            lambda source: expression_environment.compile_expression(source, undefined_to_none=False), expression
        )
    except TemplateSyntaxError as error:
        raise RenderError(f"{field}: syntax error: {error.message}") from None

    def evaluate(context: dict) -> Any:
        try:
            with budgeted(context):
                value = compiled(**context)
                if isinstance(value, StrictUndefined):
                    # Touching it raises the UndefinedError that names the missing path.
                    str(value)
                # The last guard: whatever the expression handed back is within the bounds too.
                return checked(value)
        except EVALUATION_ERRORS as error:
            raise RenderError(f"{field}: {_describe(error, 'expression')}") from None

    return evaluate


def json_safe(value: Any) -> Any:
    """`value` as plain JSON data (the step result is stored as JSON)."""
    return json.loads(json.dumps(value, default=str))
