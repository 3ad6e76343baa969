import pytest

from apps.blocks.kinds import ConfigError, default_config, validate_config


def errors_of(kind, config):
    with pytest.raises(ConfigError) as caught:
        validate_config(kind, config)
    return caught.value.errors


def test_it_fills_the_documented_defaults_of_a_command():
    assert validate_config("command", {"script": "echo hi"}) == {
        "script": "echo hi",
        "shell": "sh",
        "timeout_seconds": 300,
        "credentials": [],
        "continue_on_error": False,
    }


def test_it_fills_the_documented_defaults_of_an_api_call():
    assert validate_config("api_call", {"url": "https://example.com/health"}) == {
        "method": "GET",
        "url": "https://example.com/health",
        "headers": {},
        "body": "",
        "credential": None,
        "expected_status": [200],
        "timeout_seconds": 30,
        "continue_on_error": False,
    }


def test_it_accepts_the_strings_an_html_form_posts():
    config = validate_config(
        "api_call",
        {
            "method": "POST",
            "url": "https://example.com/{{ params.service }}",
            "headers": "Accept: application/json\nX-Team: sre",
            "expected_status": "200, 204",
            "timeout_seconds": "10",
            "continue_on_error": "on",
        },
    )
    assert config["headers"] == {"Accept": "application/json", "X-Team": "sre"}
    assert config["expected_status"] == [200, 204]
    assert config["timeout_seconds"] == 10
    assert config["continue_on_error"] is True


def test_it_rejects_an_unknown_kind():
    assert "kind" in errors_of("shell_script", {})


def test_it_rejects_fields_the_kind_does_not_have():
    assert errors_of("timer", {"seconds": 5, "minutes": 1}) == {"minutes": ["Unknown field for a timer block."]}


@pytest.mark.parametrize(
    ("kind", "config", "field"),
    [
        ("instruction", {"markdown": "x", "gate": "maybe"}, "gate"),
        ("instruction", {"gate": "none"}, "markdown"),
        ("command", {"script": "   "}, "script"),
        ("command", {"script": "ls", "shell": "zsh"}, "shell"),
        ("command", {"script": "ls", "timeout_seconds": 0}, "timeout_seconds"),
        ("command", {"script": "ls", "timeout_seconds": "ten"}, "timeout_seconds"),
        ("command", {"script": "ls", "timeout_seconds": True}, "timeout_seconds"),
        ("command", {"script": "ls", "credentials": ["a"]}, "credentials"),
        ("command", {"script": "ls", "continue_on_error": "yes"}, "continue_on_error"),
        ("command", {"script": 42}, "script"),
        ("api_call", {"url": "ftp://example.com"}, "url"),
        ("api_call", {"url": "https://exa mple.com"}, "url"),
        ("api_call", {"url": "https://example.com", "method": "BREW"}, "method"),
        ("api_call", {"url": "https://example.com", "headers": {"X-A\r\nX-B": "1"}}, "headers"),
        ("api_call", {"url": "https://example.com", "headers": {"X-A": "1\r\nX-B: 2"}}, "headers"),
        ("api_call", {"url": "https://example.com", "headers": ["X-A: 1"]}, "headers"),
        ("api_call", {"url": "https://example.com", "expected_status": [99]}, "expected_status"),
        ("api_call", {"url": "https://example.com", "expected_status": []}, "expected_status"),
        ("api_call", {"url": "https://example.com", "timeout_seconds": 301}, "timeout_seconds"),
        ("api_call", {"url": "https://example.com", "body": "x" * (1024 * 1024 + 1)}, "body"),
        ("conditional", {"expression": "steps.check.status =="}, "expression"),
        ("conditional", {"expression": "true", "on_true": "jump"}, "on_true"),
        ("conditional", {"expression": "true", "on_false": "goto:"}, "on_false"),
        ("timer", {"seconds": 0}, "seconds"),
        ("timer", {"seconds": 86401}, "seconds"),
        ("timer", {}, "seconds"),
    ],
)
def test_it_names_the_field_that_breaks_the_schema(kind, config, field):
    assert field in errors_of(kind, config)


def test_a_script_over_64_kib_gets_a_clear_message():
    errors = errors_of("command", {"script": "#" * (64 * 1024 + 1)})
    assert "limit is 65,536 bytes" in errors["script"][0]


def test_a_config_that_is_not_an_object_is_refused():
    assert errors_of("command", ["echo"]) == {"config": ["The config must be an object."]}


def test_default_configs_cover_every_field_of_each_kind():
    assert set(default_config("command")) == {"script", "shell", "timeout_seconds", "credentials", "continue_on_error"}
    assert default_config("timer") == {"seconds": 60}
