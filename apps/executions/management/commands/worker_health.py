"""`python manage.py worker_health`: the worker container's healthcheck (compose.yaml).

The worker uses the database, Redis and the Docker engine itself, so it checks all three directly;
the web's /healthz, which has no Docker socket, reads the workers' heartbeats instead.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from apps.core.health import check_database, check_redis
from apps.sandbox.client import check_docker


class Command(BaseCommand):
    help = "Check the database, Redis and the Docker engine from here; exit 1 naming what is down."

    def handle(self, *args, **options) -> None:
        checks = {"database": check_database(), "redis": check_redis(), "docker": check_docker()}
        body = {name: ("ok" if problem is None else f"down ({problem})") for name, problem in checks.items()}
        self.stdout.write(json.dumps(body))
        down = [f"{name}: {problem}" for name, problem in checks.items() if problem is not None]
        if down:
            raise CommandError("; ".join(down))
