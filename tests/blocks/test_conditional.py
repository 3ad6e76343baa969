"""Conditional steps: the value and the chosen action are recorded; an expression error fails the step."""

import pytest

from apps.blocks.executors.conditional import execute

CHECK_OK = {"check": {"status": "succeeded", "exit_code": None, "output": "", "result": {"json": {"status": "ok"}}}}


def conditional(expression, on_true="continue", on_false="goto:cleanup"):
    return {"expression": expression, "on_true": on_true, "on_false": on_false}


def test_a_true_expression_takes_on_true(make_ctx):
    ctx = make_ctx("conditional", conditional('steps.check.result.json.status == "ok"'), steps=CHECK_OK)
    outcome = execute(ctx)
    assert outcome.status == "succeeded"
    assert outcome.action == "continue"
    assert outcome.result == {"value": True, "action": "continue"}
    assert 'steps.check.result.json.status == "ok" → true (true): continue' in ctx.output.text


def test_a_false_expression_takes_on_false(make_ctx):
    steps = {"check": {**CHECK_OK["check"], "result": {"json": {"status": "degraded"}}}}
    outcome = execute(make_ctx("conditional", conditional('steps.check.result.json.status == "ok"'), steps=steps))
    assert outcome.status == "succeeded"
    assert outcome.action == "goto:cleanup"
    assert outcome.result == {"value": False, "action": "goto:cleanup"}


@pytest.mark.parametrize(
    ("expression", "value", "action"),
    [
        ("params.replicas | int > 2", True, "stop"),
        ("params.replicas", "3", "stop"),
        ("params.empty", "", "fail"),
        ("[]", [], "fail"),
        ("{'a': 1}", {"a": 1}, "stop"),
        ("steps.check.result.json.status | upper", "OK", "stop"),
        ("steps.deploy is defined", False, "fail"),
    ],
)
def test_the_recorded_value_is_the_expression_result_and_truthiness_picks_the_action(
    expression, value, action, make_ctx
):
    ctx = make_ctx(
        "conditional",
        conditional(expression, on_true="stop", on_false="fail"),
        params={"replicas": "3", "empty": ""},
        steps=CHECK_OK,
    )
    outcome = execute(ctx)
    assert outcome.result == {"value": value, "action": action}
    assert outcome.action == action


def test_a_value_that_is_not_json_is_recorded_as_text(make_ctx):
    outcome = execute(make_ctx("conditional", conditional("range(3)")))
    assert outcome.status == "succeeded"
    assert outcome.result["value"] == "range(0, 3)"


def test_a_missing_step_fails_with_a_clear_message(make_ctx):
    outcome = execute(make_ctx("conditional", conditional('steps.check.result.json.status == "ok"')))
    assert outcome.status == "failed"
    assert outcome.error == "expression: 'steps.check' is undefined"
    assert outcome.action == "continue"
    assert outcome.result == {}


def test_a_syntax_error_fails_the_step(make_ctx):
    ctx = make_ctx("conditional", conditional("steps.check.status =="), steps=CHECK_OK)
    outcome = execute(ctx)
    assert outcome.status == "failed"
    assert outcome.error.startswith("expression: syntax error: ")
    assert outcome.error in ctx.output.text


def test_an_unsafe_expression_fails_the_step(make_ctx):
    outcome = execute(make_ctx("conditional", conditional("params.__class__.__subclasses__()")))
    assert outcome.status == "failed"
    assert "unsafe" in outcome.error


def test_a_division_by_zero_fails_the_step(make_ctx):
    outcome = execute(make_ctx("conditional", conditional("1 / 0")))
    assert outcome.status == "failed"
    assert outcome.error == "expression: division by zero"


def test_a_long_value_is_stored_cut_and_marked_truncated(make_ctx):
    outcome = execute(make_ctx("conditional", conditional("['abc'] * 5000")))
    assert outcome.status == "succeeded"
    assert outcome.result["value_truncated"] is True
    assert outcome.result["value"].startswith('["abc", "abc"')
    assert len(outcome.result["value"]) == 4096


def test_a_value_with_keys_json_cannot_hold_is_stored_as_text(make_ctx):
    outcome = execute(make_ctx("conditional", conditional("{(1, 2): 3}")))
    assert outcome.status == "succeeded"
    assert outcome.result == {"value": "{(1, 2): 3}", "action": "continue"}


def test_an_expression_past_a_limit_fails_the_step_with_the_reason(make_ctx):
    ctx = make_ctx("conditional", conditional("'x'.ljust(20000000)"))
    outcome = execute(ctx)
    assert outcome.status == "failed"
    assert outcome.error == (
        "expression: the expression asks for a width of 20,000,000 characters, more than the 65,536 allowed; "
        "the limit keeps a runbook from exhausting the worker's memory."
    )
    assert outcome.result == {}
    assert outcome.error in ctx.output.text
