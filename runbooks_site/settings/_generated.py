"""Secrets generated once for a development machine and kept under var/, so a restart loses nothing.

Everything here is created owner-only from the first byte: os.open with mode 0600 and O_EXCL, never
write-then-chmod (which leaves a window where another local user can read the file), and var/ 0700.
"""

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


def private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    # A var/ made by an older release (or another umask) is tightened too.
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def private_file(path: Path, content: str = "") -> bool:
    """Create `path` readable by its owner only, holding `content`; False when it already existed.

    The content is written to an owner-only temporary file first and then linked into place, so
    another process never reads a half-written key, and an existing file is never replaced.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        return False
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(content)
        os.link(draft, path)
    except FileExistsError:
        return False
    finally:
        draft.unlink(missing_ok=True)
    return True


def read_or_create(path: Path, make) -> str:
    private_dir(path.parent)
    # Two processes starting at once: the link lets one win, the other reads the winner's key.
    private_file(path, make())
    return path.read_text().strip()


def secret_key(var_dir: Path) -> str:
    return read_or_create(var_dir / "secret_key", lambda: secrets.token_urlsafe(50))


def credential_keys(var_dir: Path) -> list[str]:
    value = read_or_create(var_dir / "credential_keys", lambda: Fernet.generate_key().decode())
    return [key.strip() for key in value.split(",") if key.strip()]
