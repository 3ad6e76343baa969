"""The file format on its own (no database): exact round trips, fences that scripts cannot close,
and problems that say their line."""

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.runbooks.exchange.format.parse import parse
from apps.runbooks.exchange.format.render import render
from apps.runbooks.exchange.format.schema import FormatError
from tests.runbooks.exchange import strategies

RUNBOOK_UUID = uuid.UUID("6f1c2a4e-1d2b-4c3d-9e8f-0a1b2c3d4e5f")
COMMAND_DEFAULTS = {"timeout_seconds": 300, "credentials": [], "continue_on_error": False}


def as_stored(content: dict) -> dict:
    """What the services make of parsed content: command fields the file may leave out filled in."""
    blocks = []
    for block in content["blocks"]:
        config = dict(block["config"])
        if block["kind"] == "command":
            config = {**COMMAND_DEFAULTS, **config}
        blocks.append({**block, "config": config})
    return {**content, "blocks": blocks}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.runbook_contents(credentials=["prod-api", "ops-token"], environments=["default", "gpu"]))
def test_a_rendered_runbook_parses_back_to_the_same_content(content):
    text = render(content, RUNBOOK_UUID)
    parsed = parse(text)
    assert parsed.uuid == RUNBOOK_UUID
    assert as_stored(parsed.content) == as_stored(content)
    assert render(as_stored(parsed.content), RUNBOOK_UUID) == text


@given(st.text(st.sampled_from('`~ \nsh{}"x'), max_size=40).filter(lambda script: script.strip()))
def test_a_script_made_of_fence_characters_keeps_its_fence_open(script):
    block = {
        "key": "s",
        "title": "",
        "kind": "command",
        "config": {**COMMAND_DEFAULTS, "script": script, "shell": "sh"},
    }
    text = render(
        {"title": "T", "description": "", "tags": [], "environment": None, "parameters": [], "blocks": [block]},
        RUNBOOK_UUID,
    )
    assert parse(text).content["blocks"][0]["config"]["script"] == script


def test_a_backtick_in_a_title_switches_to_a_tilde_fence():
    block = {
        "key": "s",
        "title": "run `make`",
        "kind": "command",
        "config": {**COMMAND_DEFAULTS, "script": "make\n", "shell": "bash"},
    }
    text = render(
        {"title": "T", "description": "", "tags": [], "environment": None, "parameters": [], "blocks": [block]},
        RUNBOOK_UUID,
    )
    assert '~~~bash {"name": "s", "runbooks.title": "run `make`"' in text
    assert parse(text).content["blocks"][0]["title"] == "run `make`"


def test_a_description_with_its_own_shell_fence_moves_into_the_front_matter():
    description = "Try it:\n\n```sh\necho hi\n```"
    text = render(
        {"title": "T", "description": description, "tags": [], "environment": None, "parameters": [], "blocks": []},
        RUNBOOK_UUID,
    )
    assert "description: |" in text.split("---")[1]
    parsed = parse(text)
    assert parsed.content["description"] == description and parsed.content["blocks"] == []


def test_a_script_with_carriage_returns_is_kept_in_a_yaml_body():
    config = {**COMMAND_DEFAULTS, "script": "echo a\r\necho b", "shell": "sh"}
    block = {"key": "crlf", "title": "", "kind": "command", "config": config}
    text = render(
        {"title": "T", "description": "", "tags": [], "environment": None, "parameters": [], "blocks": [block]},
        RUNBOOK_UUID,
    )
    assert "```runbooks-command" in text and "\r" not in text
    assert parse(text).content["blocks"][0]["config"] == config


def problems_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(FormatError) as caught:
        parse(text)
    return [(problem.line, problem.message) for problem in caught.value.problems]


def test_invalid_yaml_in_a_fence_is_reported_on_its_own_line():
    text = '---\ntitle: T\n---\n\n```runbooks-timer {"name": "wait"}\nseconds: [30\n```\n'
    [(line, message)] = problems_of(text)
    assert line == 7 and "Invalid YAML" in message


def test_invalid_yaml_in_the_front_matter_is_reported_on_its_line():
    [(line, message)] = problems_of("---\ntitle: T\ntags: [a, b\n---\n")
    assert line in (3, 4) and "Invalid YAML" in message


def test_an_unknown_kind_and_a_duplicate_key_are_both_reported_with_their_lines():
    text = (
        "---\ntitle: T\n---\n\n"
        '```sh {"name": "check"}\ntrue\n```\n\n'
        '```runbooks-deploy {"name": "ship"}\nwhere: prod\n```\n\n'
        '```bash {"name": "check"}\nfalse\n```\n'
    )
    problems = problems_of(text)
    assert problems[0][0] == 9 and "Unknown block kind “runbooks-deploy”" in problems[0][1]
    assert problems[1][0] == 13 and "“check” is already used by the block on line 5" in problems[1][1]


def test_yaml_aliases_are_refused():
    [(line, message)] = problems_of("---\ntitle: &t T\ntags: [*t, *t]\n---\n")
    assert line == 3 and "aliases" in message


def test_unknown_runbooks_attributes_are_refused_but_others_are_kept():
    assert "Unknown attribute “runbooks.retries”" in problems_of('```sh {"runbooks.retries": "3"}\ntrue\n```\n')[0][1]
    parsed = parse('```sh {"name": "a", "interactive": false, "cwd": "/tmp"}\ntrue\n```\n')
    assert parsed.content["blocks"][0]["config"]["attributes"] == {"interactive": "false", "cwd": "/tmp"}
