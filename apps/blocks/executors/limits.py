"""Bounds on what a sandboxed expression or template may build, so a runbook cannot exhaust a worker.

Jinja's sandbox stops escapes, not allocation: `'x'.ljust(20000000)` or `'%30000000d' % 1` build tens
of megabytes in one step. Every way a value comes into being in the sandbox is checked here:

- Before the work, where a small input asks for a big result: widths and precisions in `%`,
  `str.format` and the `format` filter, `ljust`/`rjust`/`center`/`zfill`/`expandtabs`, `*` repeats,
  `**`, `replace`, `join`, `translate`, `to_bytes`, `lipsum`, `indent`, `wordwrap`, `batch`, `slice`,
  `tojson(indent=…)`, `urlize(target=…)`; generators are drawn into lists item by item with a
  running total, so `range(…)|map(…)|join` stops at the limit instead of after it.
- After the work, on every result of a call, operator, filter, `~` and list/tuple/dict literal:
  its size written out (deep, so shared references count every time they would be printed).
- Throughout: CPU time of the evaluating thread, checked on each of those and on every loop turn.
  The code generator routes loops, `*args`, `~` and literals through the environment's
  `bounded_*` methods (Jinja's documented `code_generator_class` hook).

A built value may be twice as large as the run data the expression reads (a step result bigger
than 64 KiB may still be filtered, encoded or passed on), at least `MAX_VALUE_CHARS` and at most
`MAX_CEILING_CHARS`; all values one evaluation builds together at most `MAX_BUILT_CHARS`; a whole
template may render to `MAX_RENDERED_CHARS` (an API call body may be 1 MiB). Templates may use `if`,
`for` and `set name = …` only: macros, call/filter blocks and block `set` build buffers out of sight.
"""

import functools
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import BuiltinMethodType, MethodType
from typing import Any

from jinja2 import TemplateError, nodes
from jinja2.compiler import CodeGenerator
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.utils import Namespace, generate_lorem_ipsum, pass_context
from markupsafe import Markup

MAX_VALUE_CHARS = 64 * 1024
MAX_WIDTH = MAX_VALUE_CHARS
MAX_INTEGER_BITS = 64 * 1024
MAX_RENDERED_CHARS = 2 * 1024 * 1024
# However much run data there is, no single value beyond this, and no more than MAX_BUILT_CHARS in
# all: one expression has room for a hundred operations, each of which could otherwise be that big.
MAX_CEILING_CHARS = 2 * 1024 * 1024
MAX_BUILT_CHARS = 16 * 1024 * 1024
MAX_CPU_SECONDS = 2.0
MAX_JSON_INDENT = 16
MAX_LINK_ATTRIBUTE_CHARS = 256
# Counting the run data stops here: past it the ceiling is at its maximum anyway.
MAX_COUNTED_CHARS = MAX_CEILING_CHARS
BINARY_OPERATORS = frozenset({"+", "-", "*", "/", "//", "%", "**"})
DIGITS_RE = re.compile(r"\d+")
PRINTF_SPEC_RE = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?[hlL]?(?P<type>.)?", re.DOTALL
)
# Filters that hand back a generator over their input: items flow through them one at a time and
# are counted where something finally collects them.
LAZY_FILTERS = frozenset({"map", "select", "reject", "selectattr", "rejectattr"})


class LimitExceeded(TemplateError):
    """An expression or template went past a bound; `detail` says which ("would build a string of …")."""

    def __init__(self, detail: str, resource: str = "memory"):
        super().__init__(detail)
        self.detail = detail
        self.resource = resource

    def describe(self, noun: str) -> str:
        return f"the {noun} {self.detail}; the limit keeps a runbook from exhausting the worker's {self.resource}."


@dataclass
class Budget:
    ceiling: int
    deadline: float
    # What the evaluation has built so far, values since dropped included.
    built: int = 0


_budget: ContextVar[Budget | None] = ContextVar("sandbox_budget", default=None)


@contextmanager
def budgeted(context: dict):
    """Evaluate under a fresh budget: values up to twice the run data's size, at least MAX_VALUE_CHARS."""
    # Twice the run data: quoting or escaping what a step produced (tojson, urlencode) may grow it.
    ceiling = min(MAX_CEILING_CHARS, max(MAX_VALUE_CHARS, 2 * measure(context, MAX_COUNTED_CHARS)))
    token = _budget.set(Budget(ceiling=ceiling, deadline=time.thread_time() + MAX_CPU_SECONDS))
    try:
        yield
    finally:
        _budget.reset(token)


def _current() -> Budget:
    budget = _budget.get()
    if budget is None:
        # Compile-time constant folding (a config checked at save) has no run data: the base allowance.
        budget = Budget(ceiling=MAX_VALUE_CHARS, deadline=time.thread_time() + MAX_CPU_SECONDS)
    return budget


def tick() -> Budget:
    budget = _current()
    # Thread CPU time, not wall time: other runs sharing the worker do not eat this one's allowance.
    if time.thread_time() > budget.deadline:
        raise LimitExceeded(f"ran for more than {MAX_CPU_SECONDS:g} seconds of CPU time", resource="CPU")
    return budget


def measure(value: Any, stop: int) -> int:
    """About how many characters `value` takes written out, counted deep; stops once past `stop`."""
    total = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, bool) or item is None:
            total += 1
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, range):
            try:
                total += len(item) + 1
            except OverflowError:
                return stop + 1
        elif isinstance(item, dict):
            total += len(item) + 1
            if total <= stop:
                pending.extend(item.keys())
                pending.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += len(item) + 1
            if total <= stop:
                pending.extend(item)
        elif isinstance(item, Namespace):
            attributes = item._Namespace__attrs
            total += len(attributes) + 1
            if total <= stop:
                pending.extend(attributes.values())
        else:
            total += 1
        if total > stop:
            return total
    return total


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind_of(value: Any) -> str:
    if isinstance(value, (str, bytes)):
        return "a string"
    if isinstance(value, range):
        return "a range"
    return "a list or dict"


def too_big(value: Any, ceiling: int) -> LimitExceeded:
    if isinstance(value, range):
        return LimitExceeded(f"would build a range of more than {ceiling:,} items")
    written = "" if isinstance(value, (str, bytes)) else " written out"
    return LimitExceeded(f"would build {_kind_of(value)} of more than {ceiling:,} characters{written}")


def checked(value: Any) -> Any:
    """`value` when it is within the bounds, else LimitExceeded."""
    budget = tick()
    if _is_integer(value) and value.bit_length() > MAX_INTEGER_BITS:
        raise LimitExceeded(f"would build a number of more than {MAX_INTEGER_BITS:,} bits")
    size = measure(value, budget.ceiling)
    if size > budget.ceiling:
        raise too_big(value, budget.ceiling)
    budget.built += size
    if budget.built > MAX_BUILT_CHARS:
        raise LimitExceeded(f"built more than {MAX_BUILT_CHARS:,} characters in all")
    return value


def check_size(size: int, budget: Budget, what: str = "a string") -> None:
    if size > budget.ceiling:
        written = "" if what == "a string" else " written out"
        raise LimitExceeded(f"would build {what} of more than {budget.ceiling:,} characters{written}")


def check_width(width: Any) -> None:
    if _is_integer(width) and width > MAX_WIDTH:
        raise LimitExceeded(f"asks for a width of {width:,} characters, more than the {MAX_WIDTH:,} allowed")


def _number(digits: str | None) -> int:
    # More than nine digits is over any limit; int() of thousands of digits would itself be refused.
    if not digits:
        return 0
    return int(digits) if len(digits) <= 9 else 10**9


def materialized(iterator: Iterator) -> list:
    """The items of a generator as a list, refused as soon as their running size passes the budget."""
    budget = _current()
    items = []
    total = 1
    for item in iterator:
        tick()
        total += measure(item, budget.ceiling) + 1
        if total > budget.ceiling:
            raise LimitExceeded(f"would build a list of more than {budget.ceiling:,} characters written out")
        items.append(item)
    return items


def bounded_argument(value: Any) -> Any:
    return materialized(value) if isinstance(value, Iterator) else value


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
                number = _number(spec[part])
            check_width(number)
            total += number if _is_integer(number) else 0
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
    if _is_integer(count) and count >= 0:
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
            if _is_integer(tab_size):
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
    elif _is_integer(owner) and name == "to_bytes":
        length = _argument(args, kwargs, 0, "length", 1)
        if _is_integer(length):
            check_size(length, budget)
    elif function is generate_lorem_ipsum:
        paragraphs = _argument(args, kwargs, 0, "n", 5)
        longest = _argument(args, kwargs, 3, "max", 100)
        if _is_integer(paragraphs) and _is_integer(longest):
            # A lorem ipsum word is at most 12 characters with its separator.
            check_size(paragraphs * max(longest, 1) * 12, budget)


def _check_indent(args: tuple, kwargs: dict, budget: Budget) -> None:
    text, width = args[0] if args else "", _argument(args, kwargs, 1, "width", 4)
    check_width(width)
    indention = len(width) if isinstance(width, str) else width if _is_integer(width) else 0
    if isinstance(text, str):
        check_size(len(text) + (text.count("\n") + 1) * max(0, indention), budget)


def _check_wordwrap(args: tuple, kwargs: dict, budget: Budget) -> None:
    text, width = args[0] if args else "", _argument(args, kwargs, 1, "width", 79)
    wrap = _argument(args, kwargs, 3, "wrapstring") or "\n"
    if isinstance(text, str) and isinstance(wrap, str) and _is_integer(width):
        lines = len(text.split()) + len(text) // max(width, 1) + 1
        check_size(len(text) + lines * len(wrap), budget)


def _check_filled(args: tuple, kwargs: dict, budget: Budget, count_name: str) -> None:
    count = _argument(args, kwargs, 1, count_name)
    fill = _argument(args, kwargs, 2, "fill_with")
    if _is_integer(count):
        if count_name == "slices":
            check_size(count, budget, "a list")
        if fill is not None:
            check_size(count * measure(fill, budget.ceiling), budget, "a list")


def _check_tojson(args: tuple, kwargs: dict, budget: Budget) -> None:
    indent = _argument(args, kwargs, 1, "indent")
    size = len(indent) if isinstance(indent, str) else indent if _is_integer(indent) else 0
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


class BoundedFormatterMixin:
    """`str.format` with widths checked field by field and a running total of what it built."""

    built = 0

    def vformat(self, format_string, args, kwargs):
        self.built = 0
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        budget = tick()
        for digits in DIGITS_RE.findall(format_spec):
            width = _number(digits)
            check_width(width)
            check_size(self.built + width, budget)
        formatted = super().format_field(value, format_spec)
        self.built += len(formatted)
        check_size(self.built, budget)
        return formatted


class BoundedFormatter(BoundedFormatterMixin, SandboxedFormatter):
    pass


class BoundedEscapeFormatter(BoundedFormatterMixin, SandboxedEscapeFormatter):
    pass


ALLOWED_STATEMENTS = (nodes.Output, nodes.If, nodes.For, nodes.Assign)
STATEMENT_TAGS = {
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.FilterBlock: "filter",
    nodes.AssignBlock: "set … %}…{% endset",
    nodes.Block: "block",
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.With: "with",
    nodes.ScopedEvalContextModifier: "autoescape",
}


def _environment_call(method: str, argument: nodes.Expr) -> nodes.Call:
    return nodes.Call(nodes.EnvironmentAttribute(method), [argument], [], None, None, lineno=argument.lineno)


class BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator with every loop, `*args`, `~` and literal routed through the bounds."""

    def visit_Template(self, node: nodes.Template, frame=None) -> None:
        for statement in node.find_all(nodes.Stmt):
            if not isinstance(statement, ALLOWED_STATEMENTS) or getattr(statement, "recursive", False):
                tag = "for … recursive" if isinstance(statement, nodes.For) else None
                tag = tag or STATEMENT_TAGS.get(type(statement), type(statement).__name__.lower())
                self.fail(
                    f"{{% {tag} %}} is not allowed in templates here; use {{% if %}}, {{% for %}} and "
                    "{% set name = … %}",
                    statement.lineno,
                )
        # Jinja allows no new node types: the wrappers are calls of environment methods (sandboxed
        # calls, so their arguments and results are bounded like any other).
        for call in list(node.find_all((nodes.Call, nodes.Filter, nodes.Test))):
            if call.dyn_args is not None:
                call.dyn_args = _environment_call("bounded_arguments", call.dyn_args)
        for loop in list(node.find_all(nodes.For)):
            loop.iter = _environment_call("bounded_iteration", loop.iter)
        super().visit_Template(node, frame)

    def _wrapped(self, function: str, visit, node, frame) -> None:
        self.write(f"environment.{function}(")
        visit(node, frame)
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame) -> None:
        self.write("environment.bounded_concat((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")

    def visit_List(self, node: nodes.List, frame) -> None:
        self._wrapped("bounded_value", super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame) -> None:
        self._wrapped("bounded_value", super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame) -> None:
        if node.ctx != "load":
            # An assignment or loop target, not a value.
            super().visit_Tuple(node, frame)
            return
        self._wrapped("bounded_value", super().visit_Tuple, node, frame)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with every allocation path bounded (see the module docstring)."""

    code_generator_class = BoundedCodeGenerator
    intercepted_binops = BINARY_OPERATORS

    def __init__(self, **options: Any):
        # No compile-time constant folding: it would run filters and operators outside any budget.
        options.setdefault("optimized", False)
        super().__init__(**options)
        self.filters = {name: bounded_filter(name, function) for name, function in self.filters.items()}
        self.globals["range"] = bounded_range

    def call_binop(self, context: Context, operator_name: str, left: Any, right: Any) -> Any:
        budget = tick()
        if _is_integer(left) and _is_integer(right) and operator_name in ("*", "**"):
            bits = left.bit_length() * right if operator_name == "**" else left.bit_length() + right.bit_length()
            if bits > MAX_INTEGER_BITS:
                raise LimitExceeded(f"would build a number of more than {MAX_INTEGER_BITS:,} bits")
        elif operator_name == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (str, bytes, list, tuple)) and isinstance(count, int):
                    check_size(measure(sequence, budget.ceiling) * count, budget, _kind_of(sequence))
        elif operator_name == "%" and isinstance(left, (str, bytes)):
            check_printf(left, right)
        return checked(self.binop_table[operator_name](left, right))

    # Double-underscore names as in Jinja's own `call`, so any keyword argument can pass through.
    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        tick()
        # `'{:>9999999}'|attr('format')` hands out the raw method: sandbox it here as getattr would.
        __obj = __self.wrap_str_format(__obj) or __obj
        args = tuple(bounded_argument(item) for item in args)
        kwargs = {key: bounded_argument(item) for key, item in kwargs.items()}
        check_method_call(__obj, args, kwargs)
        return checked(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any):
        # Jinja's own wrapper, with formatters that check widths and count what they build.
        if not isinstance(value, (MethodType, BuiltinMethodType)) or value.__name__ not in ("format", "format_map"):
            return None
        owner = value.__self__
        if not isinstance(owner, str):
            return None
        if isinstance(owner, Markup):
            formatter = BoundedEscapeFormatter(self, escape=owner.escape)
        else:
            formatter = BoundedFormatter(self)
        is_format_map = value.__name__ == "format_map"
        str_type = type(owner)

        @functools.wraps(value)
        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument and no keyword arguments")
                kwargs = args[0]
                args = ()
            return str_type(formatter.vformat(owner, args, kwargs))

        return wrapper

    def bounded_iteration(self, iterable: Any) -> Iterator:
        if isinstance(iterable, Iterator):
            iterable = materialized(iterable)
        for item in iterable:
            tick()
            yield item

    def bounded_arguments(self, value: Any) -> Any:
        return materialized(iter(value)) if not isinstance(value, (list, tuple)) else value

    def bounded_value(self, value: Any) -> Any:
        return checked(value)

    def bounded_concat(self, parts: tuple) -> str:
        budget = tick()
        texts = []
        total = 0
        for part in parts:
            if not isinstance(part, str) and measure(part, budget.ceiling) > budget.ceiling:
                raise too_big(part, budget.ceiling)
            text = str(part)
            total += len(text)
            check_size(total, budget)
            texts.append(text)
        return "".join(texts)

    def concat(self, chunks) -> str:
        """What a whole template renders to, refused once it passes MAX_RENDERED_CHARS."""
        budget = _current()
        limit = max(budget.ceiling, MAX_RENDERED_CHARS)
        texts = []
        total = 0
        for chunk in chunks:
            tick()
            total += len(chunk)
            if total > limit:
                raise LimitExceeded(f"would build a string of more than {limit:,} characters")
            texts.append(chunk)
        return "".join(texts)
