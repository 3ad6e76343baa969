"""Issue 12 #7: `var/db.sqlite3` was created 0644, and the generated keys written before their chmod.

A fresh development start (settings import, then `migrate`) in a clean var/ directory, run as a
separate process with the ordinary umask 022, must leave var/ 0700 and every file in it 0600.
"""

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from runbooks_site.settings._generated import private_file


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_in_fresh_process(var_dir: Path, *args: str) -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SECRET_KEY", "CREDENTIAL_KEYS", "DATABASE_URL", "PYTEST_XDIST_WORKER")
    }
    environment |= {
        "DJANGO_SETTINGS_MODULE": "runbooks_site.settings.dev",
        "RUNBOOKS_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
    }
    subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=environment,
        check=True,
        capture_output=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),
    )


def test_a_fresh_start_keeps_the_database_and_the_keys_owner_only(tmp_path):
    var_dir = tmp_path / "var"
    run_in_fresh_process(
        var_dir, "-c", "import django; django.setup(); from django.conf import settings; settings.SECRET_KEY"
    )
    assert mode_of(var_dir) == 0o700
    assert mode_of(var_dir / "secret_key") == 0o600
    assert mode_of(var_dir / "credential_keys") == 0o600

    run_in_fresh_process(var_dir, "manage.py", "migrate", "--no-input")
    database = var_dir / "db.sqlite3"
    assert database.stat().st_size > 0
    assert mode_of(database) == 0o600
    # SQLite's side files appear while a connection writes; they must inherit the database's mode.
    previous = os.umask(0o022)
    try:
        connection = sqlite3.connect(database)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE probe (x)")
        connection.commit()
        for side in ("db.sqlite3-wal", "db.sqlite3-shm"):
            assert mode_of(var_dir / side) == 0o600, side
        connection.close()
    finally:
        os.umask(previous)
    assert {mode_of(path) for path in var_dir.iterdir()} == {0o600}


def test_an_existing_var_directory_is_tightened(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir(mode=0o755)
    var_dir.chmod(0o755)
    run_in_fresh_process(var_dir, "-c", "import django; django.setup()")
    assert mode_of(var_dir) == 0o700
    assert mode_of(var_dir / "db.sqlite3") == 0o600


def test_a_key_file_is_never_replaced_and_never_readable_by_others(tmp_path):
    key = tmp_path / "var" / "secret_key"
    assert private_file(key, "first") is True
    assert private_file(key, "second") is False
    assert key.read_text() == "first"
    assert mode_of(key) == 0o600
    # No temporary draft is left behind.
    assert [path.name for path in key.parent.iterdir()] == ["secret_key"]
