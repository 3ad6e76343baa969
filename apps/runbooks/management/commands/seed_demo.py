"""`python manage.py seed_demo`: the demo environment, users and runbooks; safe to run every time."""

from django.core.management.base import BaseCommand

from apps.runbooks.demo import demo_seed


class Command(BaseCommand):
    help = "Create the demo environment, admin and on-call users and two runbooks (idempotent)."

    def handle(self, *args, **options) -> None:
        result = demo_seed()
        if result.changed:
            for item in result.created:
                self.stdout.write(f"Created {item}.")
        else:
            self.stdout.write("Demo data already present; nothing changed.")
        for warning in result.warnings:
            self.stderr.write(f"Warning: {warning}")
        self.stdout.write(
            f"Passwords: admin in {result.admin_password_file}, oncall in {result.oncall_password_file} (mode 0600)."
        )
