"""Checks before a method call, `%` or filter runs, where a small input asks for a big result."""

import functools
from typing import Any

from jinja2.runtime import Context
from jinja2.utils import generate_lorem_ipsum, pass_context

from apps.blocks.executors.limits.budget import (
    LAZY_FILTERS,
    MAX_JSON_INDENT,
    MAX_LINK_ATTRIBUTE_CHARS,
    PRINTF_SPEC_RE,
    Budget,
    LimitExceeded,
    bounded_argument,
    check_size,
    check_width,
    checked,
    is_integer,
    measure,
    number_of,
    tick,
)


def _argument(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def check_printf(template: Any, values: Any) -> None:
    """Refuse `template % values` before it runs when its widths or its size would pass the limits."""
    budget = tick()
    text = template.decode("latin-1") if isinstance(template, bytes) else str(template)
    positional = list(values) if isinstance(values, tuple) else [values]
    index = 0
    total = len(text)
    for spec in PRINTF_SPEC_RE.finditer(text):
        if spec["type"] == "%":
            continue
        for part in ("width", "precision"):
            if spec[part] == "*":
                number = positional[index] if index < len(positional) else 0
                index += 1
            else:
                number = number_of(spec[part])
            check_width(number)
            total += number if is_integer(number) else 0
        # Each conversion writes its value out again: `%(a)s%(a)s` counts `a` twice.
        if spec["key"] is not None:
            value = values.get(spec["key"]) if isinstance(values, dict) else None
        else:
            value = positional[index] if index < len(positional) else None
            index += 1
        total += measure(value, budget.ceiling)
        check_size(total, budget)


def replaced_size(text: Any, old: Any, new: Any, count: Any) -> int:
    if not (isinstance(text, (str, bytes)) and isinstance(old, type(text)) and isinstance(new, type(text))):
        return 0
    hits = len(text) + 1 if not old else text.count(old)
    if is_integer(count) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(0, len(new) - len(old))


def _joined_size(separator: Any, items: Any, budget: Budget) -> int:
    if not isinstance(items, (list, tuple)):
        return 0
    # A separator that is not text is joined as its str(), about as long as it measures.
    separator_size = len(separator) if isinstance(separator, (str, bytes)) else measure(separator, budget.ceiling) + 2
    return measure(items, budget.ceiling) + separator_size * max(0, len(items) - 1)


def check_method_call(function: Any, args: tuple, kwargs: dict) -> None:
    """Refuse calls whose result would be far bigger than their inputs before they run."""
    budget = tick()
    name = getattr(function, "__name__", "")
    owner = getattr(function, "__self__", None)
    if isinstance(owner, (str, bytes)):
        if name in ("ljust", "rjust", "center", "zfill"):
            check_width(_argument(args, kwargs, 0, "width"))
        elif name == "expandtabs":
            tab_size = _argument(args, kwargs, 0, "tabsize", 8)
            check_width(tab_size)
            if is_integer(tab_size):
                tab = "\t" if isinstance(owner, str) else b"\t"
                check_size(len(owner) + owner.count(tab) * max(0, tab_size), budget)
        elif name == "replace":
            old, new, count = (_argument(args, kwargs, index, key) for index, key in enumerate(("old", "new", "count")))
            check_size(replaced_size(owner, old, new, count), budget)
        elif name == "join" and args:
            check_size(_joined_size(owner, args[0], budget), budget)
        elif name == "translate" and args:
            table = args[0]
            replacements = table.values() if isinstance(table, dict) else table if isinstance(table, list) else ()
            longest = max((len(item) for item in replacements if isinstance(item, (str, bytes))), default=1)
            check_size(len(owner) * max(1, longest), budget)
    elif is_integer(owner) and name == "to_bytes":
        length = _argument(args, kwargs, 0, "length", 1)
        if is_integer(length):
            check_size(length, budget)
    elif function is generate_lorem_ipsum:
        paragraphs = _argument(args, kwargs, 0, "n", 5)
        longest = _argument(args, kwargs, 3, "max", 100)
        if is_integer(paragraphs) and is_integer(longest):
            # A lorem ipsum word is at most 12 characters with its separator.
            check_size(paragraphs * max(longest, 1) * 12, budget)


def _check_indent(args: tuple, kwargs: dict, budget: Budget) -> None:
    text, width = args[0] if args else "", _argument(args, kwargs, 1, "width", 4)
    check_width(width)
    indention = len(width) if isinstance(width, str) else width if is_integer(width) else 0
    if isinstance(text, str):
        check_size(len(text) + (text.count("\n") + 1) * max(0, indention), budget)


def _check_wordwrap(args: tuple, kwargs: dict, budget: Budget) -> None:
    text, width = args[0] if args else "", _argument(args, kwargs, 1, "width", 79)
    wrap = _argument(args, kwargs, 3, "wrapstring") or "\n"
    if isinstance(text, str) and isinstance(wrap, str) and is_integer(width):
        lines = len(text.split()) + len(text) // max(width, 1) + 1
        check_size(len(text) + lines * len(wrap), budget)


def _check_filled(args: tuple, kwargs: dict, budget: Budget, count_name: str) -> None:
    count = _argument(args, kwargs, 1, count_name)
    fill = _argument(args, kwargs, 2, "fill_with")
    if is_integer(count):
        if count_name == "slices":
            check_size(count, budget, "a list")
        if fill is not None:
            check_size(count * measure(fill, budget.ceiling), budget, "a list")


def _check_tojson(args: tuple, kwargs: dict, budget: Budget) -> None:
    indent = _argument(args, kwargs, 1, "indent")
    size = len(indent) if isinstance(indent, str) else indent if is_integer(indent) else 0
    if size > MAX_JSON_INDENT:
        raise LimitExceeded(f"asks for a JSON indent of {size:,}, more than the {MAX_JSON_INDENT} allowed")


def _check_urlize(args: tuple, kwargs: dict, budget: Budget) -> None:
    for index, name in ((3, "target"), (4, "rel")):
        value = _argument(args, kwargs, index, name)
        if isinstance(value, str) and len(value) > MAX_LINK_ATTRIBUTE_CHARS:
            raise LimitExceeded(
                f"asks for a link {name} of {len(value):,} characters, more than the {MAX_LINK_ATTRIBUTE_CHARS} allowed"
            )


def _check_replace(args: tuple, kwargs: dict, budget: Budget) -> None:
    # The filter replaces in str() of each argument, so a list as `new` counts as its text.
    text, old, new, count = (
        _argument(args, kwargs, index, key) for index, key in enumerate(("s", "old", "new", "count"))
    )
    as_text = [item if isinstance(item, str) else str(item) for item in (text, old, new)]
    check_size(replaced_size(*as_text, count), budget)


def _check_format(args: tuple, kwargs: dict, budget: Budget) -> None:
    if args:
        check_printf(args[0], kwargs or tuple(args[1:]))


FILTER_CHECKS = {
    "center": lambda args, kwargs, budget: check_width(_argument(args, kwargs, 1, "width", 80)),
    "indent": _check_indent,
    "wordwrap": _check_wordwrap,
    "format": _check_format,
    "replace": _check_replace,
    "join": lambda args, kwargs, budget: check_size(
        _joined_size(_argument(args, kwargs, 1, "d", ""), args[0] if args else (), budget), budget
    ),
    "batch": lambda args, kwargs, budget: _check_filled(args, kwargs, budget, "linecount"),
    "slice": lambda args, kwargs, budget: _check_filled(args, kwargs, budget, "slices"),
    "tojson": _check_tojson,
    "urlize": _check_urlize,
}


def bounded_filter(name: str, function: Any) -> Any:
    """`function` with its inputs drawn and checked and its result measured.

    The wrapper takes the context, as a context filter: Jinja never folds those at compile time, so
    no filter runs outside a budget (a folded `'x'|center(60000) ~ …` would be joined unchecked).
    """
    passes = getattr(getattr(function, "jinja_pass_arg", None), "name", None)
    check = FILTER_CHECKS.get(name)

    @functools.wraps(function)
    def bounded(context: Context, *args: Any, **kwargs: Any) -> Any:
        budget = tick()
        if name not in LAZY_FILTERS:
            args = tuple(bounded_argument(item) for item in args)
            kwargs = {key: bounded_argument(item) for key, item in kwargs.items()}
        if check is not None:
            check(args, kwargs, budget)
        lead = {"context": (context,), "eval_context": (context.eval_ctx,), "environment": (context.environment,)}
        return checked(function(*lead.get(passes, ()), *args, **kwargs))

    return pass_context(bounded)


def bounded_range(*args: int) -> range:
    return checked(range(*args))
