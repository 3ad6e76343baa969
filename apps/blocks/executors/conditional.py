"""The conditional executor: a sandboxed expression over params and earlier steps picks the action."""

import json

from apps.blocks.executors.base import StepContext, StepOutcome
from apps.blocks.executors.templating import RenderError, compile_expression, json_safe, make_context

SHOWN_VALUE_CHARS = 200


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
    safe_value = json_safe(value)
    shown = json.dumps(safe_value)
    if len(shown) > SHOWN_VALUE_CHARS:
        shown = shown[:SHOWN_VALUE_CHARS] + "…"
    ctx.output.write(f"{expression} → {shown} ({'true' if truth else 'false'}): {action}\n")
    return StepOutcome(status="succeeded", result={"value": safe_value, "action": action}, action=action)
