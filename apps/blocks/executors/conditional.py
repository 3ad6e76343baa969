"""The conditional executor: a sandboxed expression over params and earlier steps picks the action.

The expression's value is kept in the step result (`{value, action}`), which the API returns and
later steps read; a value longer than MAX_STORED_VALUE_CHARS written out is stored cut to that
length, with `value_truncated: true` saying so.
"""

import json
from typing import Any

from apps.blocks.executors.base import StepContext, StepOutcome
from apps.blocks.executors.templating import RenderError, compile_expression, json_safe, make_context

SHOWN_VALUE_CHARS = 200
MAX_STORED_VALUE_CHARS = 4096


def stored_value(value: Any) -> tuple[Any, bool]:
    """(what the result keeps of `value`, whether it was cut): JSON data, at most MAX_STORED_VALUE_CHARS."""
    try:
        safe_value = json_safe(value)
    except (TypeError, ValueError):
        # Keys JSON cannot hold (a tuple key): the value as text.
        safe_value = str(value)
    if isinstance(safe_value, str):
        if len(safe_value) <= MAX_STORED_VALUE_CHARS:
            return safe_value, False
        return safe_value[:MAX_STORED_VALUE_CHARS], True
    text = json.dumps(safe_value)
    if len(text) <= MAX_STORED_VALUE_CHARS:
        return safe_value, False
    # A list or dict cut in the middle is no longer JSON data: its text, cut, stands in for it.
    return text[:MAX_STORED_VALUE_CHARS], True


def execute(ctx: StepContext) -> StepOutcome:
    config = ctx.block.get("config") or {}
    expression = config.get("expression", "")
    try:
        value = compile_expression(expression)(make_context(ctx.params, ctx.steps))
        # bool() of an undefined value raises too, so truthiness is decided inside the try.
        truth = bool(value)
    except RenderError as error:
        ctx.output.write(f"{error}\n")
        return StepOutcome(status="failed", error=str(error))
    action = config.get("on_true", "continue") if truth else config.get("on_false", "stop")
    kept, truncated = stored_value(value)
    shown = json.dumps(kept)
    if truncated or len(shown) > SHOWN_VALUE_CHARS:
        shown = shown[:SHOWN_VALUE_CHARS] + "…"
    ctx.output.write(f"{expression} → {shown} ({'true' if truth else 'false'}): {action}\n")
    result = {"value": kept, "action": action}
    if truncated:
        result["value_truncated"] = True
    return StepOutcome(status="succeeded", result=result, action=action)
