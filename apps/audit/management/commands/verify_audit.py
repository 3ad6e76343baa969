from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_verify


class Command(BaseCommand):
    help = "Walk the audit hash chain in order; name the first broken row and exit non-zero, or print OK."

    def handle(self, *args, **options) -> None:
        report = audit_verify()
        if not report.ok:
            where = f"#{report.broken_seq}" + (f" (id {report.broken_id})" if report.broken_id else "")
            raise CommandError(f"BROKEN at row {where}: {report.reason}. {report.count} events before it are intact.")
        self.stdout.write(f"OK: {report.count} events")
