import stat

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from apps.audit.models import AuditEvent
from apps.blocks.kinds import BlockKind
from apps.environments.models import ExecutionEnvironment
from apps.runbooks.demo import DEMO_RUNBOOKS, demo_seed
from apps.runbooks.models import Block, Runbook
from apps.runbooks.selectors import runbook_access_entries, runbook_role_of
from apps.runbooks.services.runbooks import runbook_archive
from apps.runbooks.versions import DraftStatus, draft_status, runbook_latest_version

pytestmark = pytest.mark.django_db

User = get_user_model()


def counts() -> dict:
    return {
        "users": User.objects.count(),
        "groups": Group.objects.count(),
        "environments": ExecutionEnvironment.objects.count(),
        "runbooks": Runbook.objects.count(),
        "blocks": Block.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def test_seeding_twice_creates_each_thing_once(tmp_path):
    first = demo_seed(var_dir=tmp_path)
    after_first = counts()
    second = demo_seed(var_dir=tmp_path)

    assert first.changed and not second.changed
    assert counts() == after_first
    assert after_first["users"] == 2
    assert after_first["groups"] == 1
    assert after_first["environments"] == 1
    assert after_first["runbooks"] == len(DEMO_RUNBOOKS) == 2


def test_the_command_says_when_nothing_changed(tmp_path, settings, capsys):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo")
    assert "Created runbook" in capsys.readouterr().out
    call_command("seed_demo")
    assert "nothing changed" in capsys.readouterr().out


def test_every_block_kind_is_present_with_a_confirm_gate_and_a_goto(tmp_path):
    demo_seed(var_dir=tmp_path)
    blocks = list(Block.objects.all())
    assert {block.kind for block in blocks} == set(BlockKind.values)
    assert any(block.kind == "instruction" and block.config["gate"] == "confirm" for block in blocks)
    assert any(
        block.kind == "conditional" and "goto:" in block.config["on_true"] + block.config["on_false"]
        for block in blocks
    )


def test_runbooks_have_tags_parameters_markdown_and_the_default_environment(tmp_path):
    demo_seed(var_dir=tmp_path)
    environment = ExecutionEnvironment.objects.get(name="default")
    assert environment.is_default and environment.image == "runbooks-runner:latest"
    for runbook in Runbook.objects.all():
        assert runbook.tags.count() >= 2
        assert runbook.parameters
        assert "**" in runbook.description
        assert runbook.environment == environment
        assert runbook.owner.username == "admin"


def test_the_sre_group_runs_and_oncall_inherits_it(tmp_path):
    demo_seed(var_dir=tmp_path)
    oncall = User.objects.get(username="oncall")
    for runbook in Runbook.objects.all():
        assert {"principal": "group:sre", "role": "runner"} in runbook_access_entries(runbook)
        assert runbook_role_of(oncall, runbook) == "runner"


def test_each_demo_runbook_is_published_as_version_1_equal_to_its_draft(tmp_path):
    demo_seed(var_dir=tmp_path)
    for runbook in Runbook.objects.all():
        assert runbook_latest_version(runbook).number == 1
        assert draft_status(runbook) == DraftStatus(latest_number=1, changed=False)


def test_passwords_are_generated_into_0600_files_and_sign_in(tmp_path):
    result = demo_seed(var_dir=tmp_path)
    for username, path in (("admin", result.admin_password_file), ("oncall", result.oncall_password_file)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        password = path.read_text().strip()
        assert len(password) >= 16
        assert User.objects.get(username=username).check_password(password)
    assert User.objects.get(username="admin").is_superuser
    assert not User.objects.get(username="oncall").is_staff


def test_a_second_run_keeps_the_same_passwords(tmp_path):
    result = demo_seed(var_dir=tmp_path)
    before = result.admin_password_file.read_text()
    demo_seed(var_dir=tmp_path)
    assert result.admin_password_file.read_text() == before


def test_a_lost_password_file_gets_a_new_password_that_works(tmp_path):
    result = demo_seed(var_dir=tmp_path)
    old = result.admin_password_file.read_text().strip()
    result.admin_password_file.unlink()

    again = demo_seed(var_dir=tmp_path)

    new = again.admin_password_file.read_text().strip()
    assert new != old
    assert User.objects.get(username="admin").check_password(new)
    assert stat.S_IMODE(again.admin_password_file.stat().st_mode) == 0o600


def test_an_emptied_password_file_never_becomes_an_empty_password(tmp_path):
    result = demo_seed(var_dir=tmp_path)
    result.admin_password_file.write_text("\n")

    demo_seed(var_dir=tmp_path)

    password = result.admin_password_file.read_text().strip()
    assert len(password) >= 16
    admin = User.objects.get(username="admin")
    assert admin.check_password(password)
    assert not admin.check_password("")


def test_a_password_changed_by_its_owner_is_kept_and_reported(tmp_path):
    result = demo_seed(var_dir=tmp_path)
    admin = User.objects.get(username="admin")
    admin.set_password("chosen-by-the-admin")
    admin.save()

    again = demo_seed(var_dir=tmp_path)

    assert not again.changed
    assert any("admin's password was changed" in warning for warning in again.warnings)
    assert User.objects.get(username="admin").check_password("chosen-by-the-admin")
    assert result.admin_password_file.exists()


def test_an_archived_demo_runbook_is_not_recreated(tmp_path):
    demo_seed(var_dir=tmp_path)
    runbook = Runbook.objects.first()
    runbook_archive(runbook=runbook, user=runbook.owner)
    assert not demo_seed(var_dir=tmp_path).changed
    assert Runbook.objects.count() == 2
