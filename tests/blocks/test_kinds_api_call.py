"""Save-time checks of api_call blocks added with issue 6: templates compile, redirects are opt-in."""

import pytest

from apps.blocks.kinds import ConfigError, default_config, validate_config

URL = "https://example.com/health"


def errors_of(config):
    with pytest.raises(ConfigError) as caught:
        validate_config("api_call", config)
    return caught.value.errors


def test_redirects_stay_off_and_out_of_the_config_unless_opted_in():
    assert "follow_redirects" not in validate_config("api_call", {"url": URL})
    assert "follow_redirects" not in validate_config("api_call", {"url": URL, "follow_redirects": False})
    assert validate_config("api_call", {"url": URL, "follow_redirects": True})["follow_redirects"] is True
    assert validate_config("api_call", {"url": URL, "follow_redirects": "on"})["follow_redirects"] is True


def test_the_editor_offers_the_redirect_option():
    assert default_config("api_call")["follow_redirects"] is False


def test_follow_redirects_must_be_a_boolean():
    assert errors_of({"url": URL, "follow_redirects": "sometimes"}) == {"follow_redirects": ["Enter true or false."]}


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        (
            {"url": "https://example.com/{{ params.service"},
            "url",
            "The URL has a template syntax error on line 1: unexpected end of template",
        ),
        (
            {"url": "https://example.com/{% if params.x %}a"},
            "url",
            "The URL has a template syntax error on line 1: Unexpected end of template",
        ),
        (
            {"url": URL, "headers": {"X-Team": "{{ params.team "}},
            "headers",
            "The value of X-Team has a template syntax error on line 1: unexpected end of template",
        ),
        (
            {"url": URL, "method": "POST", "body": '{"a": "{{ params.a }"}'},
            "body",
            "The body has a template syntax error on line 1: unexpected '}'",
        ),
    ],
)
def test_templates_that_do_not_compile_are_refused_when_saving(config, field, message):
    errors = errors_of(config)
    assert list(errors) == [field]
    assert errors[field][0].replace("'end of template'", "end of template").startswith(message)


def test_templates_that_compile_are_kept_as_written():
    config = validate_config(
        "api_call",
        {
            "url": "https://example.com/{{ params.service }}?v={{ steps.build.result.values.version }}",
            "headers": {"X-Team": "{{ params.team | upper }}"},
            "body": '{"service": "{{ params.service }}"}',
            "method": "POST",
        },
    )
    assert config["headers"] == {"X-Team": "{{ params.team | upper }}"}
    assert config["body"] == '{"service": "{{ params.service }}"}'
