"""Domain errors raised by services; pages map them in apps.core.pages, the API in apps.core.api."""


class InvalidInput(Exception):
    """Bad input; `errors` maps field names to messages (nested for blocks). API: 400."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


class TooLarge(InvalidInput):
    """Input over a documented size limit. API: 413."""


class Conflict(Exception):
    """The request conflicts with the current state (API: 409)."""


class StaleRevision(Conflict):
    """A save based on an older revision of the runbook; nothing was written."""

    def __init__(self, *, current_revision: int, changed_by: str | None, changed_at):
        self.current_revision = current_revision
        self.changed_by = changed_by
        self.changed_at = changed_at
        who = changed_by or "someone"
        super().__init__(f"This runbook was changed by {who} since you opened it (now revision {current_revision}).")


class ServiceUnavailable(Exception):
    """A service the request needs (Redis, the Docker engine) is not reachable; nothing was written. API: 503."""
