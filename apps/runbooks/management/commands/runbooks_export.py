"""`python manage.py runbooks_export --user NAME [--all | ID…] DIR`: one Markdown file per runbook.

Exports the drafts of the runbooks NAME may see. A runbook keeps the file it was exported to
before (found by the uuid in its front matter), so a rename in git stays a rename; new files are
named `<slug>-<uuid8>.md`. A file whose content did not change is not rewritten, so a git
checkout stays clean. Exit status: 0 when every runbook was exported, 1 when an ID named none
the user may see, 2 for usage errors.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.runbooks.exchange.format.parse import read_uuid
from apps.runbooks.exchange.services import runbook_export, runbook_file_name
from apps.runbooks.selectors import runbooks_visible_to


def _selected(visible: list, wanted: list[str]) -> tuple[list, list[str]]:
    """(the runbooks `wanted` names by id or uuid, in its order; the keys that name none), or all visible."""
    if not wanted:
        return visible, []
    by_key = {str(runbook.pk): runbook for runbook in visible} | {str(r.uuid): r for r in visible}
    runbooks, missing = [], []
    for key in wanted:
        runbook = by_key.get(key.lower())
        if runbook is None:
            missing.append(key)
        elif runbook not in runbooks:
            runbooks.append(runbook)
    return runbooks, missing


def _files_by_uuid(target: Path) -> dict:
    """The Markdown files already in `target` by the runbook uuid their front matter names (first wins)."""
    existing = {}
    for path in sorted(target.glob("*.md")):
        found = read_uuid(path.read_text(encoding="utf-8", errors="replace"))
        if found is not None:
            existing.setdefault(found, path)
    return existing


class Command(BaseCommand):
    help = "Export the runbooks a user may see as Markdown files (docs/runbook-format.md) into DIR."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--user", required=True, help="Export what this user may see.")
        parser.add_argument("--all", action="store_true", help="Every runbook the user may see.")
        parser.add_argument("args", nargs="+", metavar="ID… DIR", help="Runbook ids or uuids, then the directory.")

    def handle(self, *args: str, **options) -> None:
        *wanted, directory = args
        if options["all"] == bool(wanted):
            raise CommandError("Give either --all or runbook ids (not both), then the directory.", returncode=2)
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None or not user.is_active:
            raise CommandError(f"There is no active user “{options['user']}”.", returncode=2)
        target = Path(directory)
        if target.exists() and not target.is_dir():
            raise CommandError(f"{target} is not a directory.", returncode=2)
        target.mkdir(parents=True, exist_ok=True)

        runbooks, missing = _selected(list(runbooks_visible_to(user).order_by("pk")), wanted)
        existing = _files_by_uuid(target)
        for runbook in runbooks:
            text = runbook_export(runbook=runbook)
            path = existing.get(runbook.uuid) or target / runbook_file_name(runbook)
            if path.exists() and path.read_bytes() == text.encode("utf-8"):
                self.stdout.write(f"unchanged {path}")
                continue
            path.write_bytes(text.encode("utf-8"))
            self.stdout.write(f"wrote {path}")
        for key in missing:
            self.stderr.write(f"{key}: there is no runbook with this id that {user.get_username()} may see.")
        if missing:
            raise CommandError(f"{len(missing)} runbook id(s) not exported.", returncode=1)
