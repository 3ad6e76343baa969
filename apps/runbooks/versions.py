"""Publishing and rolling back runbook versions, and the reads that go with them.

The live runbook is the draft; a RunbookVersion is an immutable snapshot of it. Nothing here ever
updates or deletes a version row: publish and rollback only ever add the next number.
"""

import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.db.models import CharField, F, OuterRef, QuerySet, Subquery, Value
from django.http import Http404

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core.errors import InvalidInput, StaleRevision
from apps.runbooks.models import Block, Runbook, RunbookVersion
from apps.runbooks.services.runbooks import runbook_update

MAX_MESSAGE_LENGTH = 500


def snapshot_of(runbook: Runbook) -> dict:
    """The draft's content in the API shape: {title, description, tags, environment, parameters, blocks}."""
    return {
        "title": runbook.title,
        "description": runbook.description,
        # Sorted: tag order carries no meaning, and the content hash must not change with it.
        "tags": sorted(runbook.tags.names()),
        "environment": runbook.environment_id,
        "parameters": runbook.parameters,
        "blocks": [
            {"key": block.key, "title": block.title, "kind": block.kind, "config": block.config}
            for block in runbook.blocks.order_by("position", "pk")
        ],
    }


def snapshot_hash(snapshot: dict) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- selectors ---------------------------------------------------------------------------------


def runbook_versions(runbook: Runbook) -> QuerySet:
    """Newest first, with authors, without the (possibly large) snapshots."""
    return RunbookVersion.objects.filter(runbook=runbook).select_related("author").defer("snapshot")


def runbook_latest_version(runbook: Runbook) -> RunbookVersion | None:
    return RunbookVersion.objects.filter(runbook=runbook).select_related("author").order_by("-number").first()


def runbook_version_get(runbook: Runbook, number) -> RunbookVersion:
    """Version `number` of the runbook, or 404 (also for a number that is not a number)."""
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise Http404("No such version.") from None
    version = RunbookVersion.objects.filter(runbook=runbook, number=number).select_related("author").first()
    if version is None:
        raise Http404(f"This runbook has no version {number}.")
    return version


@dataclass(frozen=True)
class DraftStatus:
    latest_number: int | None
    changed: bool  # the draft differs from the latest version (always True when nothing is published)


def draft_status(runbook: Runbook) -> DraftStatus:
    """Compare the draft's content hash with the latest version's: three small queries."""
    latest = RunbookVersion.objects.filter(runbook=runbook).order_by("-number").values("number", "content_hash").first()
    if latest is None:
        return DraftStatus(latest_number=None, changed=True)
    return DraftStatus(
        latest_number=latest["number"], changed=snapshot_hash(snapshot_of(runbook)) != latest["content_hash"]
    )


# --- services ----------------------------------------------------------------------------------


def _clean_message(message, *, field: str = "message", what: str = "Describe what changed") -> str:
    if not isinstance(message, str) or not message.strip():
        raise InvalidInput({field: [f"{what}: a message is required."]})
    message = message.strip()
    if len(message) > MAX_MESSAGE_LENGTH - 40:
        raise InvalidInput({field: [f"Keep the message under {MAX_MESSAGE_LENGTH - 40} characters."]})
    return message


def _lock_runbook(runbook: Runbook, revision) -> Runbook:
    """Lock the row so two publishers cannot take the same number; refuse a stale revision if given."""
    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the outer join.
    locked = Runbook.objects.select_for_update(of=("self",)).select_related("last_modified_by").get(pk=runbook.pk)
    if revision not in (None, ""):
        try:
            revision = int(revision)
        except (TypeError, ValueError):
            raise InvalidInput({"revision": ["The revision must be a whole number."]}) from None
        if revision != locked.revision:
            raise StaleRevision(
                current_revision=locked.revision,
                changed_by=locked.last_modified_by.get_username() if locked.last_modified_by else None,
                changed_at=locked.updated_at,
            )
    return locked


def _create_version(*, runbook: Runbook, user, message: str, snapshot: dict, restored_from=None) -> RunbookVersion:
    latest = RunbookVersion.objects.filter(runbook=runbook).order_by("-number").values_list("number", flat=True)
    return RunbookVersion.objects.create(
        runbook=runbook,
        number=(latest.first() or 0) + 1,
        message=message,
        author=user,
        snapshot=snapshot,
        content_hash=snapshot_hash(snapshot),
        restored_from=restored_from,
    )


@transaction.atomic
def runbook_publish(*, runbook: Runbook, user, message, revision=None) -> RunbookVersion:
    """Publish the draft as the next version. `revision`, when given, must be the current one, so
    an editor publishes exactly the draft they reviewed."""
    message = _clean_message(message)
    locked = _lock_runbook(runbook, revision)
    snapshot = snapshot_of(locked)
    latest = runbook_latest_version(locked)
    if latest is not None and latest.content_hash == snapshot_hash(snapshot):
        raise InvalidInput({"message": [f"Nothing changed since v{latest.number}: the draft equals it."]})
    version = _create_version(runbook=locked, user=user, message=message, snapshot=snapshot)
    audit_record(
        actor=user,
        action="runbook.publish",
        obj=locked,
        detail={"version": version.number, "message": message, "content_hash": version.content_hash},
    )
    return version


@transaction.atomic
def runbook_rollback(*, runbook: Runbook, user, number, message) -> RunbookVersion:
    """Publish a new version equal to version `number` and reset the draft to it.

    The draft is reset through runbook_update (with the current revision), so the reset bumps the
    revision, is recorded in the draft history and invalidates every edit form still open.
    """
    target = runbook_version_get(runbook, number)
    reason = _clean_message(message, what="Say why you roll back")
    locked = _lock_runbook(runbook, None)
    latest = runbook_latest_version(locked)
    if latest.number == target.number and latest.content_hash == snapshot_hash(snapshot_of(locked)):
        raise InvalidInput({"message": [f"v{target.number} is already the current version and the draft equals it."]})
    content = target.snapshot
    locked = runbook_update(
        runbook=locked,
        user=user,
        revision=locked.revision,
        title=content["title"],
        description=content["description"],
        tags=content["tags"],
        environment=content["environment"],
        parameters=content["parameters"],
        blocks=content["blocks"],
    )
    # The snapshot of the reset draft (not a copy of vK's), so the version says what the draft is.
    version = _create_version(
        runbook=locked,
        user=user,
        message=f"Rollback to v{target.number}: {reason}",
        snapshot=snapshot_of(locked),
        restored_from=target.number,
    )
    audit_record(
        actor=user,
        action="runbook.rollback",
        obj=locked,
        detail={"version": version.number, "restored_from": target.number, "message": version.message},
    )
    return version


# --- the History tab ---------------------------------------------------------------------------

HISTORY_PAGE_SIZE = 50
# Fields of the runbook row shown in draft history; revision and bookkeeping columns are noise.
RUNBOOK_HISTORY_FIELDS = ("title", "description", "environment_id", "parameters", "archived_at")
BLOCK_HISTORY_FIELDS = ("key", "title", "kind", "config", "position")
ROLE_ACTIONS = ("role.grant", "role.revoke")


@dataclass
class HistoryEntry:
    kind: str  # version, runbook, block, role
    at: object
    who: str
    summary: str
    changes: list[tuple[str, object, object]]
    version: RunbookVersion | None = None


def _history_sources(runbook: Runbook) -> dict[str, QuerySet]:
    return {
        "version": RunbookVersion.objects.filter(runbook=runbook),
        "runbook": Runbook.history.model.objects.filter(id=runbook.pk),
        "block": Block.history.model.objects.filter(runbook_id=runbook.pk),
        "role": AuditEvent.objects.filter(object_type="runbook", object_id=str(runbook.pk), action__in=ROLE_ACTIONS),
    }


def _keys(queryset: QuerySet, kind: str, pk_field: str, at_field: str) -> QuerySet:
    # Only annotations, in the same order on every side, so the UNION's columns line up.
    return (
        queryset.order_by()
        .annotate(h_kind=Value(kind, output_field=CharField()), h_id=F(pk_field), h_at=F(at_field))
        .values_list("h_kind", "h_id", "h_at")
    )


def _with_previous(queryset: QuerySet, ids: list[int], group_field: str) -> dict[int, tuple]:
    """Rows by history_id, each paired with the row before it for the same object (or None).

    Two queries whatever the page: the rows with their predecessor's id (a correlated subquery on
    the history table's index), then the predecessors.
    """
    model = queryset.model
    previous = model.objects.filter(**{group_field: OuterRef(group_field)}, history_id__lt=OuterRef("history_id"))
    rows = list(
        model.objects.filter(history_id__in=ids)
        .select_related("history_user")
        .annotate(previous_id=Subquery(previous.order_by("-history_id").values("history_id")[:1]))
    )
    previous_rows = model.objects.in_bulk([row.previous_id for row in rows if row.previous_id])
    return {row.history_id: (row, previous_rows.get(row.previous_id)) for row in rows}


def _shown(value):
    return value if value is None or isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _changes(row, previous, fields) -> list[tuple[str, object, object]]:
    """(field, old, new) for each field that differs; a config dict is compared key by key."""
    if previous is None or row.history_type != "~":
        return []
    changes = []
    for name in fields:
        old, new = getattr(previous, name), getattr(row, name)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    changes.append((f"{name}.{key}", _shown(old.get(key)), _shown(new.get(key))))
        else:
            changes.append((name.removesuffix("_id"), _shown(old), _shown(new)))
    return changes


def _who(row) -> str:
    return row.history_user.get_username() if row.history_user else "system"


def _history_keys(runbook: Runbook) -> QuerySet:
    sources = _history_sources(runbook)
    return _keys(sources["version"], "version", "pk", "created_at").union(
        _keys(sources["runbook"], "runbook", "history_id", "history_date"),
        _keys(sources["block"], "block", "history_id", "history_date"),
        _keys(sources["role"], "role", "pk", "at"),
        all=True,
    )


def runbook_history_count(runbook: Runbook) -> int:
    return _history_keys(runbook).count()


def runbook_history(runbook: Runbook, *, offset: int, limit: int = HISTORY_PAGE_SIZE) -> list[HistoryEntry]:
    """One page of the merged history, newest first, in a fixed number of queries.

    The UNION of (kind, id, time) keys is sorted and sliced by the database, so only one page of
    rows is ever loaded, then each kind's rows for that page are fetched in bulk.
    """
    sources = _history_sources(runbook)
    keys = list(_history_keys(runbook).order_by("-h_at", "-h_id")[offset : offset + limit])
    ids: dict[str, list[int]] = {"version": [], "runbook": [], "block": [], "role": []}
    for kind, pk, _ in keys:
        ids[kind].append(pk)
    versions = sources["version"].select_related("author").defer("snapshot").in_bulk(ids["version"])
    roles = sources["role"].in_bulk(ids["role"])
    runbook_rows = _with_previous(sources["runbook"], ids["runbook"], "id") if ids["runbook"] else {}
    block_rows = _with_previous(sources["block"], ids["block"], "id") if ids["block"] else {}
    entries = []
    for kind, pk, at in keys:
        if kind == "version":
            version = versions[pk]
            author = version.author.get_username() if version.author else "system"
            entries.append(HistoryEntry("version", at, author, f"Published v{version.number}", [], version))
        elif kind == "role":
            event = roles[pk]
            detail = event.detail
            summary = (
                f"Revoked {detail.get('previous') or 'every role'} from {detail.get('principal')}"
                if event.action == "role.revoke"
                else f"Granted {detail.get('role')} to {detail.get('principal')}"
            )
            changes = [("role", detail.get("previous"), detail.get("role"))]
            entries.append(HistoryEntry("role", at, event.actor_name or "system", summary, changes))
        elif kind == "runbook":
            row, previous = runbook_rows[pk]
            changes = _changes(row, previous, RUNBOOK_HISTORY_FIELDS)
            if row.history_type == "+":
                summary = "Created the runbook"
            elif changes:
                summary = f"Edited the runbook (revision {row.revision})"
            else:
                summary = f"Saved revision {row.revision} (blocks or tags)"
            entries.append(HistoryEntry("runbook", at, _who(row), summary, changes))
        else:
            row, previous = block_rows[pk]
            verb = {"+": "Added", "-": "Removed", "~": "Changed"}[row.history_type]
            changes = _changes(row, previous, BLOCK_HISTORY_FIELDS)
            entries.append(HistoryEntry("block", at, _who(row), f"{verb} block “{row.key}” ({row.kind})", changes))
    return entries
