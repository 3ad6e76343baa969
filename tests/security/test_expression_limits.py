"""Issue 12.5: an expression cannot exhaust the worker's memory or CPU.

The three reported attacks are reproduced exactly as reported, through the public API against real
PostgreSQL and Redis: create a runbook with a conditional whose expression is the attack, publish it,
run it, run the queued job in this process as the worker would, and read the execution back.
"""

import gc
import json
import tracemalloc

import psutil
import pytest

from apps.blocks.executors.limits.budget import MAX_VALUE_CHARS
from apps.blocks.executors.templating import (
    RenderError,
    compile_expression,
    make_context,
    render_body,
    render_header,
    render_text,
    render_url,
)
from apps.blocks.kinds import ConfigError, validate_config
from apps.executions.models import Execution
from tests.support.executions import run_now

LIMIT_REASON = "the limit keeps a runbook from exhausting the worker's memory"
SMALL_ANSWER_BYTES = 16 * 1024

REPORTED_ATTACKS = [
    ("'x'.ljust(20000000)", "asks for a width of 20,000,000"),
    ("'{:>30000000}'.format(1)", "asks for a width of 30,000,000"),
    ("'%30000000d' % 1", "asks for a width of 30,000,000"),
]


def conditional_runbook(api, expression: str) -> int:
    block = {
        "key": "decide",
        "title": "Decide",
        "kind": "conditional",
        "config": {"expression": expression, "on_true": "continue", "on_false": "stop"},
    }
    created = api.post("/api/v1/runbooks/", {"title": "Expression limits", "blocks": [block]}, format="json")
    assert created.status_code == 201, created.content[:500]
    runbook_id = created.json()["id"]
    published = api.post(f"/api/v1/runbooks/{runbook_id}/versions/", {"message": "v1"}, format="json")
    assert published.status_code == 201, published.content[:500]
    return runbook_id


def run_through_api(api, runbook_id: int):
    started = api.post(f"/api/v1/runbooks/{runbook_id}/executions/", {"params": {}}, format="json")
    assert started.status_code == 202, started.content[:500]
    run_now(Execution.objects.get(pk=started.json()["id"]))
    return api.get(f"/api/v1/executions/{started.json()['id']}/")


@pytest.fixture
def owner_api(cast, api_for, environment):
    return api_for(cast.owner)


@pytest.mark.parametrize(("expression", "detail"), REPORTED_ATTACKS)
def test_it_fails_the_reported_memory_attacks_with_a_clear_message_and_a_small_answer(owner_api, expression, detail):
    answer = run_through_api(owner_api, conditional_runbook(owner_api, expression))
    assert answer.status_code == 200
    assert len(answer.content) < SMALL_ANSWER_BYTES, f"the answer is {len(answer.content):,} bytes"
    body = answer.json()
    assert body["status"] == "failed"
    [step] = body["steps"]
    assert step["status"] == "failed"
    assert step["result"] == {}
    assert f"expression: the expression {detail} characters, more than the 65,536 allowed" in step["output"]
    assert LIMIT_REASON in step["output"]


def test_a_large_but_allowed_value_is_stored_capped_with_a_truncation_mark(owner_api):
    answer = run_through_api(owner_api, conditional_runbook(owner_api, "'x' * 60000"))
    assert len(answer.content) < SMALL_ANSWER_BYTES, f"the answer is {len(answer.content):,} bytes"
    [step] = answer.json()["steps"]
    assert step["status"] == "succeeded"
    assert step["result"]["action"] == "continue"
    assert step["result"]["value_truncated"] is True
    assert 0 < len(step["result"]["value"]) <= 4096
    assert set(step["result"]["value"]) == {"x"}


def test_a_small_value_is_stored_whole_without_a_truncation_mark(owner_api):
    answer = run_through_api(owner_api, conditional_runbook(owner_api, "'x' * 100"))
    [step] = answer.json()["steps"]
    assert step["result"] == {"value": "x" * 100, "action": "continue"}


def rss_bytes() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def test_worker_memory_stays_flat_across_twenty_attack_runs(owner_api):
    runbook_id = conditional_runbook(owner_api, "'x'.ljust(20000000)")
    # The first run warms up imports, caches and connections; growth is measured from there.
    run_through_api(owner_api, runbook_id)
    before = rss_bytes()
    for _ in range(20):
        answer = run_through_api(owner_api, runbook_id)
        assert answer.json()["status"] == "failed"
    growth = rss_bytes() - before
    assert growth < 20 * 1024 * 1024, f"RSS grew by {growth / 1024 / 1024:.1f} MB over 20 runs"


def refused(expression: str, **params) -> str:
    with pytest.raises(RenderError) as caught:
        compile_expression(expression)(make_context(params, {}))
    return str(caught.value)


@pytest.mark.parametrize(
    "expression",
    [
        "'x' * 10**9",
        "[1] * 10**8",
        "'x' * 70000",
        "('x' * 40000) ~ ('y' * 40000)",
        "('x' * 40000) + ('y' * 40000)",
        "['x' * 40000, 'y' * 40000]",
        "{'a': 'x' * 40000, 'b': 'y' * 40000}",
        "('x' * 40000, 'y' * 40000)",
        "'a' | replace('', 'a' * 1000) | replace('', 'a' * 1000)",
        "('a' * 1000).replace('', 'b' * 1000)",
        "'x' | center(30000000)",
        "'x'.center(30000000)",
        "'x'.rjust(30000000)",
        "'1'.zfill(30000000)",
        "('\t' * 100).expandtabs(60000)",
        "'%99999999d' | format(1)",
        "'%.*f' % (30000000, 1.5)",
        "'%*d' % (30000000, 1)",
        "'%30000000d'.encode() % 1",
        "('%65000d' * 10) % (1, 1, 1, 1, 1, 1, 1, 1, 1, 1)",
        "'{:0>{}}'.format(1, 30000000)",
        "'{:.30000000f}'.format(1.5)",
        "'{0:>60000}{0:>60000}'.format(1)",
        "('{:>60000}' * 10).format(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)",
        "('{:>30000000}' | attr('format'))(1)",
        "'{x:>30000000}'.format_map({'x': 1})",
        "(1).to_bytes(10**9, 'big')",
        "10 ** (10 ** 10)",
        "2 ** 70000",
        "range(100000) | list",
        "range(10**9) | list",
        "(range(60000) | map('center', 60000) | batch(2) | list)",
        "dict(range(60000) | map('center', 60000) | batch(2))",
        "{}.fromkeys(range(100000))",
        "range(60000) | map('center', 60000) | join",
        "','.join(range(60000) | map('center', 60000))",
        "('x' * 60000).join(['a', 'b', 'c'])",
        "lipsum(10**6)",
        "lipsum(5, false, 20, 10**6)",
        "('a\n' * 30000) | indent(60000)",
        "('a ' * 30000) | wordwrap(1, true, 'x' * 60000)",
        "[1] | batch(10**9, 'x')",
        "[1] | slice(10**9) | list",
        "([[1]] | tojson(indent=10**8))",
        "'a.co ' * 100 | urlize(target='x' * 60000)",
        "namespace(a='x' * 40000, b='y' * 40000)",
        "('x' * 60000).translate({120: 'y' * 60000})",
        "(range(60000) | map('center', 60000) | list) | length",
        "('%(a)s' * 100) % {'a': 'x' * 60000}",
        "('%(a)s' * 100) | format(a='x' * 60000)",
        "range(60000) | map('center', 60000) | batch(10**9) | first",
    ],
)
def test_it_refuses_each_way_to_build_a_huge_value(expression):
    message = refused(expression)
    assert message.startswith("expression: the expression ")
    assert LIMIT_REASON in message


def test_it_refuses_a_loop_that_spins_the_cpu():
    template = "{% for i in range(60000) %}{% for j in range(60000) %}{% endfor %}{% endfor %}"
    with pytest.raises(RenderError, match=r"^body: the template ran for more than 2 seconds of CPU time"):
        render_body(template, make_context({}, {}), content_type="text/plain")


def test_an_expression_that_spins_the_cpu_is_stopped():
    # Each item is tiny and dropped at once, so only the CPU budget can stop this lazy pipeline.
    message = refused("'z' in (range(60000) | map('string')" + " | map('trim')" * 30 + ")")
    assert message == (
        "expression: the expression ran for more than 2 seconds of CPU time; "
        "the limit keeps a runbook from exhausting the worker's CPU."
    )


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(60000) %}{{ 'x' * 60000 }}{% endfor %}",
        "{% for i in range(60000) %}" + "y" * 1000 + "{% endfor %}",
        "{% set ns = namespace(s='') %}{% for i in range(60000) %}{% set ns.s = ns.s ~ ('x' * 1000) %}{% endfor %}",
        "{% set a = 'x' * 60000 %}{% set b = [a, a, a, a, a, a, a, a] %}{{ b }}",
        "{{ 'x' | center(30000000) }}",
        "{{ '%30000000d' % 1 }}",
    ],
)
def test_templates_are_bounded_too(template):
    for render in (
        lambda: render_text(template, make_context({}, {}), field="body"),
        lambda: render_url("https://example.com/" + template, make_context({}, {})),
        lambda: render_header(template, make_context({}, {}), name="X-Test"),
        lambda: render_body('{"a": "' + template + '"}', make_context({}, {}), content_type=None),
    ):
        with pytest.raises(RenderError) as caught:
            render()
        assert "the template " in str(caught.value)
        assert LIMIT_REASON in str(caught.value)


@pytest.mark.parametrize(
    "template",
    [
        "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
        "{% set x %}{% for i in range(10) %}a{% endfor %}{% endset %}{{ x }}",
        "{% filter upper %}a{% endfilter %}",
        "{% for x in [1] recursive %}{{ loop(x) }}{% endfor %}",
        "{% include 'x' %}",
    ],
)
def test_templates_refuse_statements_that_can_build_unbounded_buffers(template):
    with pytest.raises(RenderError, match=r"is not allowed in templates"):
        render_text(template, make_context({}, {}), field="body")


def test_a_loop_cannot_build_and_drop_values_without_end():
    template = "{% for i in range(60000) %}{% set x = 'x' * 60000 %}{% endfor %}done"
    with pytest.raises(RenderError, match=r"^body: the template built more than 16,777,216 characters in all"):
        render_text(template, make_context({}, {}), field="body")


def test_a_huge_context_does_not_lift_the_limit_without_end():
    steps = {"big": {"status": "succeeded", "exit_code": 0, "output": "", "result": {"values": {"v": "z" * 3_000_000}}}}
    context = make_context({}, steps)
    assert compile_expression("steps.big.result.values.v | length")(context) == 3_000_000
    with pytest.raises(RenderError, match="would build a string of more than 2,097,152 characters"):
        compile_expression("'x' * 3000000")(context)


def test_ordinary_expressions_and_templates_still_work():
    steps = {
        "check": {
            "status": "succeeded",
            "exit_code": 0,
            "output": "line\n" * 10000,
            "result": {"json": {"items": [{"name": f"host-{index}"} for index in range(5000)]}},
        }
    }
    context = make_context({"env": "prod"}, steps)
    assert compile_expression("'line' in steps.check.output | lower")(context) is True
    names = compile_expression("steps.check.result.json['items'] | map(attribute='name') | list")(context)
    assert len(names) == 5000
    assert compile_expression("'{:>8}|{:.2f}|%05d'.format('a', 1.5) % 7")(context) == "       a|1.50|00007"
    assert compile_expression("range(10) | map('string') | join(',')")(context) == "0,1,2,3,4,5,6,7,8,9"
    assert compile_expression("2 ** 64")(context) == 2**64
    assert len(compile_expression("'x' * 65536")(context)) == MAX_VALUE_CHARS
    rendered = render_text("{% for i in range(3) %}{% if i %},{% endif %}{{ i }}{% endfor %}", context)
    assert rendered == "0,1,2"
    body = render_body('{"names": {{ steps.check.result.json["items"][:2] | tojson }}}', context, content_type=None)
    assert json.loads(body) == {"names": [{"name": "host-0"}, {"name": "host-1"}]}


def test_a_context_larger_than_the_limit_can_still_be_read_whole():
    # A step result larger than 64 KiB (an API's JSON) may be filtered and passed on as it is.
    steps = {"api": {"status": "succeeded", "exit_code": None, "output": "", "result": {"json": ["v" * 100] * 2000}}}
    context = make_context({}, steps)
    assert len(compile_expression("steps.api.result.json | select | list")(context)) == 2000
    assert len(render_text("{{ steps.api.result.json | tojson }}", context)) > MAX_VALUE_CHARS
    message = refused("'x' * 70000")
    assert "more than 65,536 characters" in message


def test_saving_a_config_does_not_build_the_value_in_the_web_process():
    # Jinja folds constants while compiling: the save-time check must not run `'%30000000d' % 1`.
    import tracemalloc

    config = {"expression": "'%30000000d' % 1", "on_true": "continue", "on_false": "stop"}
    tracemalloc.start()
    try:
        validate_config("conditional", config)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024, f"saving allocated {peak:,} bytes"


def test_saving_a_template_does_not_fold_filters_into_a_huge_constant():
    body = "{{ " + " ~ ".join(["'x' | center(60000)"] * 200) + " }}"
    config = {"method": "POST", "url": "https://example.com/", "body": body}
    tracemalloc.start()
    try:
        try:
            validate_config("api_call", config)
        except ConfigError:
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024, f"saving allocated {peak:,} bytes"
    with pytest.raises(RenderError, match="would build a string of more than 65,536 characters"):
        render_body(body, make_context({}, {}), content_type="text/plain")


def test_saving_a_template_with_a_refused_statement_is_a_field_error():
    config = {"method": "POST", "url": "https://example.com/", "body": "{% macro f() %}{% endmacro %}"}
    with pytest.raises(ConfigError) as caught:
        validate_config("api_call", config)
    assert "is not allowed in templates" in str(caught.value.errors["body"])
