"""The bounds, the running budget of one evaluation, and measuring what a value takes written out."""

import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import chain
from typing import Any

from jinja2 import TemplateError
from jinja2.utils import Namespace

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


def current_budget() -> Budget:
    budget = _budget.get()
    if budget is None:
        # Compile-time constant folding (a config checked at save) has no run data: the base allowance.
        budget = Budget(ceiling=MAX_VALUE_CHARS, deadline=time.thread_time() + MAX_CPU_SECONDS)
    return budget


def tick() -> Budget:
    budget = current_budget()
    # Thread CPU time, not wall time: other runs sharing the worker do not eat this one's allowance.
    if time.thread_time() > budget.deadline:
        raise LimitExceeded(f"ran for more than {MAX_CPU_SECONDS:g} seconds of CPU time", resource="CPU")
    return budget


def _own_size(item: Any) -> tuple[int, Iterable]:
    """What `item` itself takes written out, and the items inside it still to count."""
    if isinstance(item, (str, bytes)):
        return len(item), ()
    if isinstance(item, bool) or item is None:
        return 1, ()
    if isinstance(item, int):
        return item.bit_length() // 3 + 1, ()
    if isinstance(item, range):
        # len() of a huge range raises OverflowError: the caller treats that as past any stop.
        return len(item) + 1, ()
    if isinstance(item, dict):
        return len(item) + 1, chain(item.keys(), item.values())
    if isinstance(item, (list, tuple, set, frozenset)):
        return len(item) + 1, item
    if isinstance(item, Namespace):
        attributes = item._Namespace__attrs
        return len(attributes) + 1, attributes.values()
    return 1, ()


def measure(value: Any, stop: int) -> int:
    """About how many characters `value` takes written out, counted deep; stops once past `stop`."""
    total = 0
    pending = [value]
    while pending:
        try:
            size, inner = _own_size(pending.pop())
        except OverflowError:
            return stop + 1
        total += size
        if total > stop:
            return total
        pending.extend(inner)
    return total


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def kind_of(value: Any) -> str:
    if isinstance(value, (str, bytes)):
        return "a string"
    if isinstance(value, range):
        return "a range"
    return "a list or dict"


def too_big(value: Any, ceiling: int) -> LimitExceeded:
    if isinstance(value, range):
        return LimitExceeded(f"would build a range of more than {ceiling:,} items")
    written = "" if isinstance(value, (str, bytes)) else " written out"
    return LimitExceeded(f"would build {kind_of(value)} of more than {ceiling:,} characters{written}")


def checked(value: Any) -> Any:
    """`value` when it is within the bounds, else LimitExceeded."""
    budget = tick()
    if is_integer(value) and value.bit_length() > MAX_INTEGER_BITS:
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
    if is_integer(width) and width > MAX_WIDTH:
        raise LimitExceeded(f"asks for a width of {width:,} characters, more than the {MAX_WIDTH:,} allowed")


def number_of(digits: str | None) -> int:
    # More than nine digits is over any limit; int() of thousands of digits would itself be refused.
    if not digits:
        return 0
    return int(digits) if len(digits) <= 9 else 10**9


def materialized(iterator: Iterator) -> list:
    """The items of a generator as a list, refused as soon as their running size passes the budget."""
    budget = current_budget()
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
