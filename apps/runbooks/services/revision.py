"""Every edit locks the runbook row, refuses a change based on an older revision, and bumps it."""

from apps.core.errors import InvalidInput, StaleRevision
from apps.runbooks.models import Runbook


def stamp(runbook: Runbook, user) -> None:
    runbook._history_user = user


def lock(runbook: Runbook, revision) -> Runbook:
    """Lock the runbook row and refuse a save based on an older revision (call inside atomic())."""
    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the outer join.
    locked = Runbook.objects.select_for_update(of=("self",)).select_related("last_modified_by").get(pk=runbook.pk)
    try:
        revision = int(revision)
    except (TypeError, ValueError):
        raise InvalidInput({"revision": ["The revision you edited is required."]}) from None
    if locked.revision != revision:
        raise StaleRevision(
            current_revision=locked.revision,
            changed_by=locked.last_modified_by.get_username() if locked.last_modified_by else None,
            changed_at=locked.updated_at,
        )
    return locked


def bump(runbook: Runbook, user, *, extra_fields: tuple = ()) -> None:
    runbook.revision += 1
    runbook.last_modified_by = user
    stamp(runbook, user)
    runbook.save(update_fields=["revision", "last_modified_by", "updated_at", *extra_fields])


def via_marked(detail: dict, via: str | None) -> dict:
    """An edit's audit detail, marked with its caller when that is not a page or the API (the admin)."""
    return {**detail, "via": via} if via else detail
