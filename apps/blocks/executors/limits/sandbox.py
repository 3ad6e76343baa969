"""The bounded sandbox: formatters, the code generator and the environment that route every allocation
through the checks of `budget` and `calls`."""

import functools
from collections.abc import Iterator
from types import BuiltinMethodType, MethodType
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
from markupsafe import Markup

from apps.blocks.executors.limits.budget import (
    BINARY_OPERATORS,
    DIGITS_RE,
    MAX_INTEGER_BITS,
    MAX_RENDERED_CHARS,
    LimitExceeded,
    bounded_argument,
    check_size,
    check_width,
    checked,
    current_budget,
    is_integer,
    kind_of,
    materialized,
    measure,
    number_of,
    tick,
    too_big,
)
from apps.blocks.executors.limits.calls import bounded_filter, bounded_range, check_method_call, check_printf


class BoundedFormatterMixin:
    """`str.format` with widths checked field by field and a running total of what it built."""

    built = 0

    def vformat(self, format_string, args, kwargs):
        self.built = 0
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        budget = tick()
        for digits in DIGITS_RE.findall(format_spec):
            width = number_of(digits)
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
        if is_integer(left) and is_integer(right) and operator_name in ("*", "**"):
            bits = left.bit_length() * right if operator_name == "**" else left.bit_length() + right.bit_length()
            if bits > MAX_INTEGER_BITS:
                raise LimitExceeded(f"would build a number of more than {MAX_INTEGER_BITS:,} bits")
        elif operator_name == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, (str, bytes, list, tuple)) and isinstance(count, int):
                    check_size(measure(sequence, budget.ceiling) * count, budget, kind_of(sequence))
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
        budget = current_budget()
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
