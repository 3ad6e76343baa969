"""`python manage.py runbooks_import --user NAME [--publish -m MSG] PATH…`: runbook files into drafts.

Each file updates the runbook whose uuid its front matter names, or creates it with that uuid;
a directory imports every `*.md` under it. Idempotent: an unchanged file changes nothing and
publishes nothing, so a CI job can run it on every push (docs/runbooks-as-code.md). Each file is
saved whole or not at all. Exit status: 0 when every file was imported, 1 when any was refused
(each problem printed as `PATH:LINE: message`), 2 for usage errors.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import InvalidInput
from apps.runbooks.exchange.services import max_import_bytes, read_file, runbook_import_sync


def _files(paths: list[str]) -> list[Path]:
    found = []
    for name in paths:
        path = Path(name)
        found.extend(sorted(path.rglob("*.md")) if path.is_dir() else [path])
    return found


class Command(BaseCommand):
    help = "Import runbook Markdown files (docs/runbook-format.md): update by uuid, or create."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="Import as this user (roles and credentials are theirs).")
        parser.add_argument("--publish", action="store_true", help="Publish each draft that then differs.")
        parser.add_argument("-m", "--message", help="The message of the published versions (with --publish).")
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Files, or directories of *.md files.")

    def handle(self, *args, **options) -> None:
        if options["publish"] and not (options["message"] or "").strip():
            raise CommandError("--publish needs -m MESSAGE: the versions it makes say what changed.", returncode=2)
        if options["message"] and not options["publish"]:
            raise CommandError("-m is the message of published versions: give --publish too.", returncode=2)
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None or not user.is_active:
            raise CommandError(f"There is no active user “{options['user']}”.", returncode=2)
        message = options["message"].strip() if options["publish"] else None
        refused = 0
        for path in _files(options["paths"]):
            try:
                with path.open("rb") as handle:
                    raw = handle.read(max_import_bytes() + 1)
            except OSError as error:
                self.stderr.write(f"{path}: cannot read it: {error.strerror}.")
                refused += 1
                continue
            try:
                result = runbook_import_sync(user=user, text=read_file(raw), publish_message=message)
            except InvalidInput as error:
                refused += 1
                for problem in getattr(error, "problems", []):
                    where = f"{path}:{problem.line}" if problem.line else str(path)
                    self.stderr.write(f"{where}: {problem.message}")
                continue
            runbook = result.runbook
            line = {
                "created": f"{path}: created runbook {runbook.pk} “{runbook.title}”",
                "updated": f"{path}: updated runbook {runbook.pk} “{runbook.title}” (revision {runbook.revision})",
                "unchanged": f"{path}: unchanged",
            }[result.action]
            if result.version is not None:
                line += f", published v{result.version.number}"
            self.stdout.write(line)
            if result.new_uuid:
                self.stderr.write(
                    f"{path}: the file names no runbooks.id, so importing it again creates another runbook; "
                    f"export runbook {runbook.pk} to get a file that updates it."
                )
        if refused:
            raise CommandError(f"{refused} file(s) refused; nothing of them was saved.", returncode=1)
