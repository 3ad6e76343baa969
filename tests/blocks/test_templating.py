"""Templates and expressions in the sandbox: quoting per slot and clear errors naming the field."""

import json

import pytest

from apps.blocks.executors.templating import (
    RenderError,
    compile_expression,
    is_json_body,
    make_context,
    render_body,
    render_header,
    render_json_body,
    render_text,
    render_url,
)

STEPS = {
    "check": {
        "status": "succeeded",
        "exit_code": 0,
        "output": "all good\n",
        "result": {"json": {"status": "ok", "hosts": ["a", "b"]}, "values": {"version": "1.2"}},
    }
}


def context(**params):
    return make_context(params, STEPS)


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("evil.com/path", "https://api.example.com/svc/evil.com%2Fpath"),
        ("x?admin=1#frag", "https://api.example.com/svc/x%3Fadmin%3D1%23frag"),
        ("../../admin", "https://api.example.com/svc/..%2F..%2Fadmin"),
        ("user@evil.com", "https://api.example.com/svc/user%40evil.com"),
        ("a b", "https://api.example.com/svc/a%20b"),
    ],
)
def test_url_values_cannot_leave_their_slot(value, rendered):
    assert render_url("https://api.example.com/svc/{{ params.name }}", context(name=value)) == rendered


def test_a_value_in_the_host_slot_cannot_add_a_path_or_port():
    assert render_url("https://{{ params.host }}/x", context(host="evil.com:81/y")) == "https://evil.com%3A81%2Fy/x"


def test_keys_named_like_dict_methods_are_data():
    assert render_text("{{ steps.check.result.values.version }}", context()) == "1.2"
    assert render_text("{{ params['items'] }}/{{ params.keys }}", context(items="i", keys="k")) == "i/k"


def test_url_literals_written_by_the_author_are_kept():
    assert (
        render_url("https://api.example.com/a/b?x=1&v={{ steps.check.result.values.version }}", context())
        == "https://api.example.com/a/b?x=1&v=1.2"
    )


def test_json_body_values_are_escaped_inside_strings():
    body = render_json_body('{"msg": "{{ params.msg }}"}', context(msg='he said "hi"\n}, "admin": true'))
    assert json.loads(body) == {"msg": 'he said "hi"\n}, "admin": true'}


def test_json_body_lists_and_objects_render_as_json():
    body = render_json_body(
        '{"hosts": {{ steps.check.result.json.hosts }}, "n": {{ steps.check.exit_code }}}', context()
    )
    assert json.loads(body) == {"hosts": ["a", "b"], "n": 0}


def test_a_value_outside_quotes_cannot_smuggle_keys_into_a_json_body():
    with pytest.raises(RenderError, match=r"^body: the rendered body is not valid JSON"):
        render_json_body('{"count": {{ params.count }}}', context(count='1, "admin": true'))


@pytest.mark.parametrize(
    ("template", "content_type", "expected"),
    [
        ('{"a": 1}', None, True),
        ("  [1]", None, True),
        ("name=x", None, False),
        ("name=x", "application/json", True),
        ("{}", "application/vnd.api+json; charset=utf-8", True),
        ('{"a": 1}', "text/plain", False),
    ],
)
def test_json_mode_follows_the_content_type_or_the_shape(template, content_type, expected):
    assert is_json_body(template, content_type) is expected


def test_a_text_body_is_not_escaped():
    assert render_body("msg={{ params.msg }}", context(msg='a "b"'), content_type="text/plain") == 'msg=a "b"'


def test_a_header_that_renders_a_line_break_is_refused():
    with pytest.raises(RenderError, match=r"^headers\.X-Team: the rendered value contains a line break"):
        render_header("{{ params.team }}", context(team="sre\r\nX-Admin: 1"), name="X-Team")


def test_a_header_renders_values():
    assert render_header("Bearer-ish {{ params.team }}", context(team="sre"), name="X-Team") == "Bearer-ish sre"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ steps.deploy.status }}", "url: 'steps.deploy' is undefined"),
        ("{{ steps.check.result.json.missing }}", "url: 'steps.check.result.json.missing' is undefined"),
        ("{{ steps.check.result.json.hosts[7] }}", "url: 'steps.check.result.json.hosts[7]' is undefined"),
        ("{{ params.region }}", "url: 'params.region' is undefined"),
        ("{{ nothing }}", "url: 'nothing' is undefined"),
        ("{{ params.x ", "url: template syntax error on line 1: unexpected end of template"),
        ("{% if %}", "url: template syntax error on line 1: Expected an expression"),
    ],
)
def test_errors_name_the_field_and_the_missing_path(template, message):
    with pytest.raises(RenderError) as caught:
        render_url(template, context(x="1"))
    assert str(caught.value).replace("'end of template'", "end of template").startswith(message)


@pytest.mark.parametrize(
    "template",
    [
        "{{ params.__class__.__mro__ }}",
        "{{ steps.check.result.values.update({'a': 1}) }}",
        "{{ steps.check.result.json.hosts.append('c') }}",
        "{{ 'x' * 100000000 }}",
        "{{ 10 ** 100000 }}",
    ],
)
def test_the_sandbox_refuses_escapes_mutation_and_huge_values(template):
    with pytest.raises(RenderError):
        render_text(template, context())


def test_an_expression_sees_params_and_steps():
    evaluate = compile_expression('steps.check.result.json.status == "ok" and params.env == "prod"')
    assert evaluate(context(env="prod")) is True
    assert evaluate(context(env="dev")) is False


def test_an_expression_syntax_error_is_reported_at_compile_time():
    with pytest.raises(RenderError, match=r"^expression: syntax error: "):
        compile_expression("steps.check.status ==")


def test_an_expression_on_a_missing_value_names_the_path():
    with pytest.raises(RenderError, match=r"^expression: 'steps.check.result.json.nope' is undefined$"):
        compile_expression("steps.check.result.json.nope")(context())


def test_a_missing_value_can_be_tested_with_is_defined():
    assert compile_expression("steps.deploy is defined")(context()) is False
