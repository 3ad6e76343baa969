"""runbooks_export and runbooks_import: files, idempotence, publishing, exit codes and output."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.runbooks.models import Runbook, RunbookVersion
from tests.runbooks.exchange.conftest import counts

pytestmark = pytest.mark.django_db


def run(name: str, *argv: str) -> int:
    """The command's exit status, as run_from_argv would exit with it (without closing the test's
    database connection, which run_from_argv does)."""
    try:
        call_command(name, *argv)
    except CommandError as error:
        return error.returncode
    return 0


def test_export_writes_one_stable_file_per_visible_runbook(world, tmp_path, capsys):
    cast = world.cast
    assert run("runbooks_export", "--user", "viewer", "--all", str(tmp_path)) == 0
    [path] = tmp_path.glob("*.md")
    assert path.name == f"restart-the-payments-api-{str(cast.runbook.uuid)[:8]}.md"
    assert f"wrote {path}" in capsys.readouterr().out
    before = path.read_bytes()
    assert run("runbooks_export", "--user", "viewer", str(cast.runbook.pk), str(tmp_path)) == 0
    assert f"unchanged {path}" in capsys.readouterr().out and path.read_bytes() == before
    assert run("runbooks_export", "--user", "outsider", str(cast.runbook.pk), str(tmp_path)) == 1
    assert "no runbook with this id" in capsys.readouterr().err
    assert run("runbooks_export", "--user", "viewer", str(tmp_path)) == 2
    assert run("runbooks_export", "--user", "nobody", "--all", str(tmp_path)) == 2


def test_import_updates_by_uuid_is_idempotent_and_publishes_once(world, tmp_path, capsys):
    cast = world.cast
    call_command("runbooks_export", "--user", "editor", "--all", str(tmp_path))
    [path] = tmp_path.glob("*.md")
    path.write_text(path.read_text().replace("echo restarting", "echo changed"))
    capsys.readouterr()
    assert run("runbooks_import", "--user", "editor", "--publish", "-m", "From git", str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert f"{path}: updated runbook {cast.runbook.pk}" in out and "published v1" in out
    runbook = Runbook.objects.get(pk=cast.runbook.pk)
    assert runbook.blocks.get(key="restart").config["script"] == "echo changed"
    before = counts()
    assert run("runbooks_import", "--user", "editor", "--publish", "-m", "From git", str(path)) == 0
    assert capsys.readouterr().out.strip() == f"{path}: unchanged"
    assert counts() == before and RunbookVersion.objects.filter(runbook=runbook).count() == 1


def test_import_creates_the_runbook_a_file_names_with_its_uuid(world, tmp_path, capsys):
    path = tmp_path / "new.md"
    uuid = "0b7f3c8e-2f5d-4b8e-9c1a-3d2e1f0a9b8c"
    path.write_text(f"---\nrunbooks:\n  format: 1\n  id: {uuid}\ntitle: Fresh\n---\n\n```sh\necho hi\n```\n")
    assert run("runbooks_import", "--user", "editor", str(path)) == 0
    assert str(Runbook.objects.get(title="Fresh").uuid) == uuid
    assert "created runbook" in capsys.readouterr().out
    assert run("runbooks_import", "--user", "viewer", str(path)) == 1
    assert "you may not edit it" in capsys.readouterr().err


def test_a_refused_file_prints_path_line_and_message_and_exits_1(world, tmp_path, capsys):
    good, bad = tmp_path / "a.md", tmp_path / "b.md"
    good.write_text("# Good\n\n```sh\ntrue\n```\n")
    bad.write_text('# Bad\n\n```runbooks-timer {"name": "w"}\nseconds: [1\n```\n')
    before = Runbook.objects.count()
    assert run("runbooks_import", "--user", "editor", str(tmp_path)) == 1
    err = capsys.readouterr().err
    assert f"{bad}:4: Invalid YAML" in err or f"{bad}:5: Invalid YAML" in err
    assert Runbook.objects.count() == before + 1  # the good file only


def test_usage_errors_exit_2(world, tmp_path):
    assert run("runbooks_import", "--user", "editor", "--publish", str(tmp_path)) == 2
    assert run("runbooks_import", "--user", "editor", "-m", "x", str(tmp_path)) == 2
    assert run("runbooks_import", "--user", "ghost", str(tmp_path)) == 2
