"""Export and import of runbook files (docs/runbook-format.md, docs/runbooks-as-code.md).

Every write goes through the runbook services (runbook_create, runbook_update, runbook_publish),
so an import obeys exactly the rules of an edit: validation per kind, the credential rule, roles,
audit and history. This module only turns names into ids and back, and the services' field
errors into problems with the line of the file they are about. A refused file saves nothing.
"""

import dataclasses
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from apps.audit.services import audit_record
from apps.core.errors import InvalidInput, StaleRevision, TooLarge
from apps.core.text import text_problem
from apps.credentials.models import Credential
from apps.credentials.selectors import credential_ids_of_config, credentials_visible_to
from apps.environments.models import ExecutionEnvironment
from apps.runbooks.diffing import SnapshotDiff, snapshot_diff
from apps.runbooks.exchange.format.parse import parse
from apps.runbooks.exchange.format.render import render
from apps.runbooks.exchange.format.schema import FormatError, ParsedFile, Problem
from apps.runbooks.models import Runbook, RunbookVersion
from apps.runbooks.roles import EDIT
from apps.runbooks.services.runbooks import runbook_create, runbook_update
from apps.runbooks.versions import draft_status, runbook_publish, runbook_version_get, snapshot_of

# Well above the largest valid runbook's file (a 256 KiB description and 200 blocks of 64 KiB
# scripts are about 13 MiB), low enough that nobody can make a worker hold an unbounded body.
DEFAULT_MAX_IMPORT_BYTES = 16 * 1024 * 1024
DRAFT = "draft"


def max_import_bytes() -> int:
    return getattr(settings, "RUNBOOKS_MAX_IMPORT_BYTES", DEFAULT_MAX_IMPORT_BYTES)


class _Refusal:
    problems: list[Problem]

    def _init(self, problems: list[Problem]) -> dict:
        self.problems = problems
        return {"errors": [problem.as_dict() for problem in problems]}


class ImportRefused(_Refusal, InvalidInput):
    """The file was refused as a whole; the API answers 400 {"errors": [{"line", "message"}]}."""

    def __init__(self, problems: list[Problem]):
        InvalidInput.__init__(self, self._init(problems))


class ImportTooLarge(_Refusal, TooLarge):
    """The file, or something in it, is over a size limit (API: 413, same body)."""

    def __init__(self, problems: list[Problem]):
        TooLarge.__init__(self, self._init(problems))


def read_file(raw: bytes) -> str:
    """The text of an uploaded file, or a refusal: over the size limit, not UTF-8, or with NUL."""
    limit = max_import_bytes()
    if len(raw) > limit:
        raise ImportTooLarge([Problem(None, f"The file is over the {limit:,}-byte limit.")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ImportRefused([Problem(line, "The file is not UTF-8 text.")]) from None
    if text_problem(text):
        for number, line in enumerate(text.split("\n"), start=1):
            if text_problem(line):
                raise ImportRefused([Problem(number, text_problem(line))])
    return text


def _parse(text: str) -> ParsedFile:
    if len(text.encode("utf-8")) > max_import_bytes():
        raise ImportTooLarge([Problem(None, f"The file is over the {max_import_bytes():,}-byte limit.")])
    try:
        return parse(text)
    except FormatError as error:
        raise ImportRefused(error.problems) from None


# --- names and ids ------------------------------------------------------------------------------


def _names(snapshot: dict) -> dict:
    """A snapshot (ids) as the file's content (names)."""
    ids = set()
    for block in snapshot["blocks"]:
        ids |= credential_ids_of_config(block["kind"], block["config"])
    names = dict(Credential.objects.filter(pk__in=ids).values_list("pk", "name"))

    def name(pk) -> str:
        # A credential deleted since a version was published: a name no import will resolve.
        return names.get(pk, f"deleted-credential-{pk}")

    blocks = []
    for block in snapshot["blocks"]:
        config = dict(block["config"])
        if block["kind"] == "command":
            config["credentials"] = [name(pk) for pk in config.get("credentials") or []]
        elif block["kind"] == "api_call" and config.get("credential"):
            config["credential"] = name(config["credential"])
        blocks.append({**block, "config": config})
    environment = None
    if snapshot.get("environment"):
        environment = (
            ExecutionEnvironment.objects.filter(pk=snapshot["environment"]).values_list("name", flat=True).first()
            or f"deleted-environment-{snapshot['environment']}"
        )
    return {**snapshot, "environment": environment, "blocks": blocks}


def _usable_credentials(user, runbook: Runbook | None) -> dict[str, int]:
    """Lower-cased name → id of the credentials a file may name: those the importer holds a role on,
    and those the runbook's blocks carry already (an unchanged block keeps them, as in an edit).
    Any other name gets the same answer whether it exists or not, so an import cannot be used to
    discover credentials."""
    usable = {name.lower(): pk for pk, name in credentials_visible_to(user).values_list("pk", "name")}
    if runbook is not None:
        carried = set()
        for block in runbook.blocks.all():
            carried |= credential_ids_of_config(block.kind, block.config)
        for pk, name in Credential.objects.filter(pk__in=carried).values_list("pk", "name"):
            usable.setdefault(name.lower(), pk)
    return usable


def _credential_id(name, usable: dict[str, int], line: int, problems: list[Problem]):
    if not isinstance(name, str) or not name:
        problems.append(Problem(line, "Name credentials by their name (text), never by id."))
        return None
    if name.lower() not in usable:
        problems.append(Problem(line, f"There is no credential named “{name}” that you may use."))
        return None
    return usable[name.lower()]


def _with_ids(parsed: ParsedFile, user, runbook: Runbook | None) -> dict:
    """The parsed content with environment and credential ids, as the services take it."""
    problems: list[Problem] = []
    content = dict(parsed.content)
    environment = content.get("environment")
    if environment is not None:
        found = ExecutionEnvironment.objects.filter(name=environment).values_list("pk", flat=True).first()
        if found is None:
            problems.append(
                Problem(parsed.field_lines.get("environment"), f"There is no environment named “{environment}”.")
            )
        content["environment"] = found
    usable = _usable_credentials(user, runbook)
    blocks = []
    for parsed_block in parsed.blocks:
        block = parsed_block.as_content()
        config = dict(block["config"])
        if block["kind"] == "command" and "credentials" in config:
            line = parsed_block.field_lines.get("credentials", parsed_block.line)
            names = config["credentials"]
            if not isinstance(names, list):
                problems.append(Problem(line, "“credentials” must be a list of credential names."))
            else:
                config["credentials"] = [_credential_id(name, usable, line, problems) for name in names]
        elif block["kind"] == "api_call" and config.get("credential") is not None:
            line = parsed_block.field_lines.get("credential", parsed_block.line)
            config["credential"] = _credential_id(config["credential"], usable, line, problems)
        blocks.append({**block, "config": config})
    content["blocks"] = blocks
    if problems:
        raise ImportRefused(problems)
    return content


# --- service errors → lines ---------------------------------------------------------------------


def _messages(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [f"{name}: {message}" for name, item in value.items() for message in _messages(item)]
    if isinstance(value, (list, tuple)):
        return [message for item in value for message in _messages(item)]
    return [str(value)]


def _problems_of(errors: dict, parsed: ParsedFile) -> list[Problem]:
    problems: list[Problem] = []
    first_block_line = parsed.blocks[0].line if parsed.blocks else None
    for name, value in errors.items():
        if name == "blocks" and isinstance(value, list) and all(isinstance(item, dict) for item in value):
            for index, block_errors in enumerate(value):
                if not block_errors or index >= len(parsed.blocks):
                    continue
                block = parsed.blocks[index]
                for field, messages in block_errors.items():
                    if field == "config" and isinstance(messages, dict):
                        for config_field, config_messages in messages.items():
                            line = block.field_lines.get(config_field, block.line)
                            problems.extend(
                                Problem(line, f"Block “{block.key}”, {config_field}: {message}")
                                for message in _messages(config_messages)
                            )
                    else:
                        problems.extend(
                            Problem(block.line, f"Block “{block.key}”, {field}: {message}")
                            for message in _messages(messages)
                        )
        elif name == "blocks":
            problems.extend(Problem(first_block_line, message) for message in _messages(value))
        elif name == "parameters" and isinstance(value, list) and all(isinstance(item, dict) for item in value):
            for index, parameter_errors in enumerate(value):
                if parameter_errors:
                    line = (
                        parsed.parameter_lines[index]
                        if index < len(parsed.parameter_lines)
                        else parsed.field_lines.get("parameters")
                    )
                    problems.extend(
                        Problem(line, f"Parameter {index + 1}, {message}") for message in _messages(parameter_errors)
                    )
        else:
            line = parsed.field_lines.get(name, 1 if name == "title" else None)
            problems.extend(Problem(line, f"{name}: {message}") for message in _messages(value))
    return sorted(problems, key=lambda problem: problem.line or 0)


def _refusal(error: InvalidInput, parsed: ParsedFile) -> InvalidInput:
    problems = _problems_of(error.errors, parsed)
    return ImportTooLarge(problems) if isinstance(error, TooLarge) else ImportRefused(problems)


# --- export -------------------------------------------------------------------------------------


def runbook_export(*, runbook: Runbook, version=DRAFT) -> str:
    """The file of the runbook's draft, or of version `version` (Http404 for one it does not have)."""
    draft = version in (None, "", DRAFT)
    snapshot = snapshot_of(runbook) if draft else runbook_version_get(runbook, version).snapshot
    return render(_names(snapshot), runbook.uuid)


def runbook_file_name(runbook: Runbook) -> str:
    """`<slug>-<first 8 of the uuid>.md`: readable, and unique without the database."""
    return f"{slugify(runbook.title)[:60].strip('-') or 'runbook'}-{str(runbook.uuid)[:8]}.md"


# --- import -------------------------------------------------------------------------------------


def _create(*, user, parsed: ParsedFile, runbook_uuid: uuid.UUID, source: str) -> Runbook:
    content = _with_ids(parsed, user, None)
    try:
        with transaction.atomic():
            runbook = runbook_create(user=user, **content)
            # runbook_create picks a fresh uuid; the file's (or a new one) replaces it in the same
            # transaction, so no one ever sees the runbook under another uuid.
            Runbook.objects.filter(pk=runbook.pk).update(uuid=runbook_uuid)
            runbook.uuid = runbook_uuid
            audit_record(actor=user, action="runbook.import", obj=runbook, detail={"source": source, "created": True})
    except InvalidInput as error:
        raise _refusal(error, parsed) from None
    except IntegrityError:
        line = parsed.field_lines.get("runbooks", 1)
        raise ImportRefused([Problem(line, f"A runbook with the id {runbook_uuid} exists already.")]) from None
    return runbook


def runbook_import_create(*, user, text: str, source: str = "api") -> Runbook:
    """Create a runbook from a file, always with a new uuid (the file's is ignored): a copy."""
    return _create(user=user, parsed=_parse(text), runbook_uuid=uuid.uuid4(), source=source)


@dataclass
class ReplaceResult:
    runbook: Runbook
    diff: SnapshotDiff
    saved: bool


class _DryRun(Exception):
    def __init__(self, snapshot: dict):
        self.snapshot = snapshot


def _check_same_runbook(parsed: ParsedFile, runbook: Runbook) -> None:
    if parsed.uuid is not None and parsed.uuid != runbook.uuid:
        line = parsed.field_lines.get("runbooks", 1)
        raise ImportRefused(
            [
                Problem(
                    line,
                    f"This file is runbook {parsed.uuid}, not this one ({runbook.uuid}). Remove the id line "
                    "from the front matter to import its content here anyway.",
                )
            ]
        )


def runbook_import_replace(*, user, runbook: Runbook, text: str, revision, dry_run: bool = False) -> ReplaceResult:
    """Replace the draft with the file's content (editors, with the revision they saw).

    A dry run makes the very same update and rolls it back, so its diff and its refusals are
    exactly those of the real save; nothing of it stays.
    """
    parsed = _parse(text)
    _check_same_runbook(parsed, runbook)
    content = _with_ids(parsed, user, runbook)
    before = snapshot_of(runbook)
    try:
        with transaction.atomic():
            updated = runbook_update(runbook=runbook, user=user, revision=revision, **content)
            after = snapshot_of(updated)
            if dry_run:
                raise _DryRun(after)
            if updated.revision != runbook.revision:
                audit_record(
                    actor=user,
                    action="runbook.import",
                    obj=updated,
                    detail={"source": "replace", "revision": updated.revision},
                )
    except _DryRun as dry:
        return ReplaceResult(runbook=runbook, diff=snapshot_diff(before, dry.snapshot), saved=False)
    except StaleRevision:
        raise
    except InvalidInput as error:
        if set(error.errors) == {"revision"}:
            raise
        raise _refusal(error, parsed) from None
    return ReplaceResult(runbook=updated, diff=snapshot_diff(before, after), saved=updated.revision != runbook.revision)


@dataclass
class SyncResult:
    runbook: Runbook
    action: str  # created, updated, unchanged
    version: RunbookVersion | None = None
    new_uuid: bool = False  # the file named none: the next import of it creates another runbook


def runbook_import_sync(*, user, text: str, publish_message: str | None = None) -> SyncResult:
    """The CLI's import: the file's uuid names the runbook to update, or the one to create.

    Idempotent: a file equal to the draft changes nothing, and publishes only if the draft differs
    from the latest version. The file is the source of truth, so there is no revision to match.
    """
    parsed = _parse(text)
    existing = Runbook.objects.filter(uuid=parsed.uuid).first() if parsed.uuid else None
    line = parsed.field_lines.get("runbooks", 1)
    with transaction.atomic():
        if existing is None:
            runbook = _create(user=user, parsed=parsed, runbook_uuid=parsed.uuid or uuid.uuid4(), source="sync")
            result = SyncResult(runbook=runbook, action="created", new_uuid=parsed.uuid is None)
        else:
            if not user.has_perm(EDIT, existing):
                raise ImportRefused([Problem(line, f"Runbook {existing.uuid} exists, and you may not edit it.")])
            if existing.archived_at is not None:
                raise ImportRefused(
                    [Problem(line, f"Runbook {existing.uuid} is archived; remove the id line to import a new one.")]
                )
            content = _with_ids(parsed, user, existing)
            try:
                updated = runbook_update(runbook=existing, user=user, revision=existing.revision, **content)
            except StaleRevision:
                raise ImportRefused([Problem(line, "The runbook changed while it was imported: run the import again.")])
            except InvalidInput as error:
                raise _refusal(error, parsed) from None
            changed = updated.revision != existing.revision
            if changed:
                audit_record(
                    actor=user,
                    action="runbook.import",
                    obj=updated,
                    detail={"source": "sync", "revision": updated.revision},
                )
            result = SyncResult(runbook=updated, action="updated" if changed else "unchanged")
        if publish_message is not None and draft_status(result.runbook).changed:
            try:
                result.version = runbook_publish(
                    runbook=result.runbook, user=user, message=publish_message, revision=result.runbook.revision
                )
            except InvalidInput as error:
                raise ImportRefused([Problem(None, message) for message in _messages(error.errors)]) from None
    return result


def diff_as_json(diff: SnapshotDiff) -> dict:
    return {
        "empty": diff.is_empty,
        "fields": [dataclasses.asdict(change) for change in diff.fields],
        "blocks": [dataclasses.asdict(block) for block in diff.changed_blocks],
    }
