import io

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError

from apps.accounts.models import ApiToken, hash_token
from apps.accounts.services import api_token_revoke


def run(*args) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("create_api_token", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_it_prints_the_token_alone_on_one_line(cast):
    stdout, stderr = run("viewer")
    assert stdout.count("\n") == 1
    assert stdout.endswith("\n")
    value = stdout.strip()
    assert value.startswith("rbk_")
    assert " " not in value
    assert len(value) > 40
    assert stderr == ""


def test_the_token_authenticates_against_the_api(cast, client):
    value = run("viewer")[0].strip()
    response = client.get("/api/v1/runbooks/", HTTP_AUTHORIZATION=f"Bearer {value}")
    assert response.status_code == 200
    assert [runbook["id"] for runbook in response.json()["results"]] == [cast.runbook.pk]


def test_the_api_refuses_a_revoked_token(cast, client):
    value = run("viewer")[0].strip()
    api_token_revoke(token=ApiToken.objects.get(token_hash=hash_token(value)), user=cast.viewer)
    response = client.get("/api/v1/runbooks/", HTTP_AUTHORIZATION=f"Bearer {value}")
    assert response.status_code == 401


def test_the_database_stores_only_the_hash(cast):
    value = run("viewer")[0].strip()
    token = ApiToken.objects.get(user=cast.viewer)
    assert token.token_hash == hash_token(value)
    assert token.prefix == value[:8]
    for field in ApiToken._meta.concrete_fields:
        assert getattr(token, field.attname) != value, f"{field.name} holds the token"


def test_it_names_the_token_when_asked(cast):
    run("viewer", "--name", "deploy bot")
    assert ApiToken.objects.get(user=cast.viewer).name == "deploy bot"


def test_each_run_makes_a_new_token(cast):
    first = run("viewer")[0].strip()
    second = run("viewer", "--name", "second")[0].strip()
    assert first != second
    assert ApiToken.objects.filter(user=cast.viewer).count() == 2


def test_an_unknown_user_is_a_clear_command_error(db):
    with pytest.raises(CommandError, match=r"There is no user named “ghost”\."):
        run("ghost")
    assert not ApiToken.objects.exists()


def test_an_unknown_user_exits_non_zero_with_the_message_on_stderr(db, capsys):
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "create_api_token", "ghost"])
    assert exit_info.value.code != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "There is no user named “ghost”." in captured.err


def test_an_inactive_user_gets_no_token(cast):
    cast.viewer.is_active = False
    cast.viewer.save()
    with pytest.raises(CommandError, match="inactive"):
        run("viewer")
    assert not ApiToken.objects.exists()


def test_a_duplicate_name_is_a_command_error(cast):
    run("viewer", "--name", "ci")
    with pytest.raises(CommandError, match="already have an active token named “ci”"):
        run("viewer", "--name", "ci")
    assert ApiToken.objects.filter(user=cast.viewer).count() == 1
