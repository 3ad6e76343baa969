"""Every htmx form, posted with invalid input: it answers itself, with all its errors at once.

htmx swaps the answer into the form's target (base.html's htmx-config swaps 400/409/413/422), so
the answer must be that fragment, never a whole page and never a bare message, and nothing may be
saved. The same holds with DEBUG on and off. The forms are those of `hx-post` in templates/
(outside the live run page): block add/edit, block move/delete, runbook share grant/change,
credential share, API token create, environment rebuild and the Markdown preview.
"""

import re

import pytest
from django.urls import reverse
from guardian.shortcuts import get_users_with_perms

from apps.credentials.services import credential_create
from apps.environments.models import ExecutionEnvironment
from apps.runbooks.models import Runbook

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(params=[True, False], ids=["debug", "production"], autouse=True)
def debug_mode(request, settings):
    settings.DEBUG = request.param
    return request.param


def _snapshot(runbook: Runbook) -> tuple:
    runbook = Runbook.objects.get(pk=runbook.pk)
    blocks = [(b.pk, b.key, b.title, b.kind, b.config, b.position) for b in runbook.blocks.all()]
    return (runbook.revision, blocks)


def _errors_in(text: str) -> str:
    """The text of every error list in an answer (not the echoed input)."""
    return " ".join(re.findall(r'class="errorlist"[^>]*>(.*?)</(?:ul|p)>', text, re.S))


def _is_fragment(text: str) -> bool:
    return "<html" not in text and "<body" not in text and "topbar" not in text


def _field_errors(text: str) -> dict[str, str]:
    """{field name: its error text} of every `.field-error` wrapper in a block form."""
    found = {}
    for chunk in text.split('<div class="field field-error')[1:]:
        name = re.search(r'name="[^"]*?-([a-z_]+)"', chunk).group(1)
        found[name] = re.search(r'<ul class="errorlist"[^>]*>(.*?)</ul>', chunk, re.S).group(1)
    return found


def _new_prefix(client, runbook, kind: str) -> str:
    answer = client.get(reverse("runbooks:block_new", args=[runbook.pk]), {"kind": kind}, **HTMX)
    return re.search(r'name="prefix" value="(new-[0-9a-f]{8})"', answer.content.decode()).group(1)


def _create(client, runbook, kind: str, fields: dict, *, key: str):
    prefix = _new_prefix(client, runbook, kind)
    data = {"kind": kind, "prefix": prefix, f"{prefix}-key": key, f"{prefix}-title": "", "revision": runbook.revision}
    data.update({f"{prefix}-{name}": value for name, value in fields.items()})
    return prefix, client.post(reverse("runbooks:block_create", args=[runbook.pk]), data, **HTMX)


INVALID_BLOCKS = {
    "command": (
        {"script": "", "shell": "sh", "timeout_seconds": "0"},
        {"key": "is not a valid key", "script": "required", "timeout_seconds": "greater than or equal to 1"},
    ),
    "command-nul": (
        {"script": "echo \x00", "shell": "zsh", "timeout_seconds": "100000"},
        {"key": "is not a valid key", "script": "", "shell": "zsh", "timeout_seconds": "less than or equal to 86400"},
    ),
    "api_call": (
        {"method": "GET", "url": "ftp://example.com/", "expected_status": "700", "timeout_seconds": "0"},
        {
            "key": "is not a valid key",
            "url": "http:// or https://",
            "expected_status": "700 is not an HTTP status",
            "timeout_seconds": "greater than or equal to 1",
        },
    ),
    "conditional": (
        {"expression": "params.x ==", "on_true": "jump", "on_false": "stop"},
        {"key": "is not a valid key", "expression": "Expression syntax error", "on_true": "Choose continue"},
    ),
    "timer": ({"seconds": "100000"}, {"key": "is not a valid key", "seconds": "less than or equal to 86400"}),
    "instruction": (
        {"markdown": "", "gate": "sometimes"},
        {"key": "is not a valid key", "markdown": "required", "gate": "sometimes"},
    ),
}


@pytest.mark.parametrize("case", list(INVALID_BLOCKS))
def test_an_invalid_new_block_answers_its_form_with_every_error_and_saves_nothing(cast, client_for, case):
    kind = case.split("-")[0]
    fields, expected = INVALID_BLOCKS[case]
    client = client_for(cast.editor)
    before = _snapshot(cast.runbook)
    prefix, answer = _create(client, cast.runbook, kind, fields, key="bad key!")
    text = answer.content.decode()
    assert answer.status_code == 400
    assert _is_fragment(text)
    assert text.lstrip().startswith(f'<li id="block-{prefix}"')
    errors = _field_errors(text)
    assert set(errors) == set(expected)
    for name, words in expected.items():
        assert words in errors[name], (name, errors[name])
    assert "Nothing was saved" in text
    assert _snapshot(cast.runbook) == before


def test_a_taken_key_is_reported_together_with_the_other_errors(cast, client_for):
    before = _snapshot(cast.runbook)
    _, answer = _create(client_for(cast.editor), cast.runbook, "timer", {"seconds": "0"}, key="intro")
    assert answer.status_code == 400
    errors = _field_errors(answer.content.decode())
    assert "The key “intro” is used by another block." in errors["key"]
    assert "seconds" in errors
    assert _snapshot(cast.runbook) == before


def test_an_invalid_block_edit_answers_its_form_with_every_error_and_saves_nothing(cast, client_for):
    block = cast.runbook.blocks.get(key="restart")
    prefix = f"block-{block.pk}"
    before = _snapshot(cast.runbook)
    answer = client_for(cast.editor).post(
        reverse("runbooks:block_edit", args=[cast.runbook.pk, block.pk]),
        {
            f"{prefix}-key": "bad key!",
            f"{prefix}-title": "",
            f"{prefix}-script": " ",
            f"{prefix}-shell": "sh",
            f"{prefix}-timeout_seconds": "0",
            "revision": cast.runbook.revision,
        },
        **HTMX,
    )
    text = answer.content.decode()
    assert answer.status_code == 400
    assert _is_fragment(text) and text.lstrip().startswith(f'<li id="block-{block.pk}"')
    assert set(_field_errors(text)) == {"key", "script", "timeout_seconds"}
    assert _snapshot(cast.runbook) == before


def test_a_stale_block_save_answers_its_form_with_the_conflict(cast, client_for):
    block = cast.runbook.blocks.get(key="restart")
    prefix = f"block-{block.pk}"
    before = _snapshot(cast.runbook)
    answer = client_for(cast.editor).post(
        reverse("runbooks:block_edit", args=[cast.runbook.pk, block.pk]),
        {
            f"{prefix}-key": "restart",
            f"{prefix}-script": "echo new",
            f"{prefix}-shell": "sh",
            f"{prefix}-timeout_seconds": "30",
            "revision": cast.runbook.revision - 1,
        },
        **HTMX,
    )
    assert answer.status_code == 409
    assert _is_fragment(answer.content.decode())
    assert "Not saved." in answer.content.decode()
    assert _snapshot(cast.runbook) == before


@pytest.mark.parametrize("action", ["block_move", "block_delete"])
def test_a_refused_list_change_lands_in_the_status_line_not_over_the_blocks(cast, client_for, action):
    block = cast.runbook.blocks.get(key="intro")
    before = _snapshot(cast.runbook)
    data = {"direction": "sideways"} if action == "block_move" else {}
    answer = client_for(cast.editor).post(
        reverse(f"runbooks:{action}", args=[cast.runbook.pk, block.pk]), {**data, "revision": 0}, **HTMX
    )
    assert answer.status_code in (400, 409)
    assert answer.headers["HX-Retarget"] == "#blocks-status"
    assert _is_fragment(answer.content.decode())
    assert _snapshot(cast.runbook) == before


def test_an_unknown_direction_is_explained_in_the_status_line(cast, client_for):
    block = cast.runbook.blocks.get(key="intro")
    answer = client_for(cast.editor).post(
        reverse("runbooks:block_move", args=[cast.runbook.pk, block.pk]),
        {"direction": "sideways", "revision": cast.runbook.revision},
        **HTMX,
    )
    assert answer.status_code == 400
    assert answer.headers["HX-Retarget"] == "#blocks-status"
    assert "up or down" in answer.content.decode()


def test_sharing_with_an_unknown_user_and_a_bad_role_reports_both_and_grants_nothing(cast, client_for):
    before = set(get_users_with_perms(cast.runbook))
    answer = client_for(cast.owner).post(
        reverse("runbooks:share_grant", args=[cast.runbook.pk]),
        {"principal_kind": "user", "name": "nobody-here", "role": "emperor"},
        **HTMX,
    )
    text = answer.content.decode()
    assert answer.status_code == 400
    assert _is_fragment(text) and text.lstrip().startswith('<div id="access">')
    assert "nobody-here" in _errors_in(text)
    assert "emperor" in _errors_in(text)
    assert set(get_users_with_perms(cast.runbook)) == before


def test_changing_the_role_of_an_unknown_principal_answers_the_access_table_with_the_error(cast, client_for):
    answer = client_for(cast.owner).post(
        reverse("runbooks:share_change", args=[cast.runbook.pk]), {"principal": "user:ghost", "role": "viewer"}, **HTMX
    )
    text = answer.content.decode()
    assert answer.status_code == 400
    assert _is_fragment(text) and text.lstrip().startswith('<div id="access">')
    assert "ghost" in _errors_in(text)


@pytest.fixture
def credential(cast):
    return credential_create(user=cast.owner, name="pager-token", kind="token", secret="s3cr3t-value")


def test_sharing_a_credential_with_an_unknown_user_answers_the_access_section(cast, client_for, credential):
    before = set(get_users_with_perms(credential))
    answer = client_for(cast.owner).post(
        reverse("credentials:share", args=[credential.pk]), {"principal": "user:nobody-here", "role": "user"}, **HTMX
    )
    text = answer.content.decode()
    assert answer.status_code == 400
    assert _is_fragment(text) and text.lstrip().startswith('<div id="credential-access">')
    assert "nobody-here" in _errors_in(text)
    assert "s3cr3t-value" not in text
    assert set(get_users_with_perms(credential)) == before


def test_an_empty_token_name_answers_the_tokens_section_and_creates_nothing(cast, client_for):
    answer = client_for(cast.runner).post(reverse("accounts:token_create"), {"name": "  "}, **HTMX)
    text = answer.content.decode()
    assert answer.status_code == 400
    assert _is_fragment(text) and text.lstrip().startswith('<section id="api-tokens">')
    assert "Give the token a name" in _errors_in(text)
    assert not cast.runner.api_tokens.exists()


def test_rebuilding_an_image_reference_environment_says_why_in_the_build_section(cast, client_for):
    environment = ExecutionEnvironment.objects.create(name="plain", image="busybox:latest")
    answer = client_for(cast.staff).post(reverse("environments:rebuild", args=[environment.pk]), **HTMX)
    text = answer.content.decode()
    assert answer.status_code == 400
    assert _is_fragment(text) and text.lstrip().startswith(f'<section id="build-{environment.pk}"')
    assert "nothing to build" in text.split("<h2")[1]
    environment.refresh_from_db()
    assert environment.build_status != "building"


def test_a_preview_of_too_much_markdown_says_so_in_the_preview(cast, client_for, settings):
    source = "x" * (settings.RUNBOOKS_MAX_DESCRIPTION_BYTES + 1)
    answer = client_for(cast.editor).post(
        reverse("runbooks:preview") + "?field=description", {"description": source}, **HTMX
    )
    assert answer.status_code == 200
    assert _is_fragment(answer.content.decode())
    assert "Too long to preview" in answer.content.decode()
