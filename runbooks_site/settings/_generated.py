"""Secrets generated once for a development machine and kept under var/, so a restart loses nothing."""

import secrets
from pathlib import Path

from cryptography.fernet import Fernet


def read_or_create(path: Path, make) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def secret_key(var_dir: Path) -> str:
    return read_or_create(var_dir / "secret_key", lambda: secrets.token_urlsafe(50))


def credential_keys(var_dir: Path) -> list[str]:
    value = read_or_create(var_dir / "credential_keys", lambda: Fernet.generate_key().decode())
    return [key.strip() for key in value.split(",") if key.strip()]
