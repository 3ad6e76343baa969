"""Who uses a credential: runbooks carry credentials in their blocks, and runbooks sit above this
layer. So the runbooks app registers a UsageProvider here in its AppConfig.ready(), and the
credential pages, the admin and the delete rule ask it; credentials never import runbooks."""

from dataclasses import dataclass
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured

from apps.credentials.models import Credential


@dataclass(frozen=True)
class Use:
    """One runbook using the credential, as the caller may see it (title None when hidden)."""

    runbook_id: int
    title: str | None
    archived: bool
    revoked: bool


@dataclass(frozen=True)
class Usage:
    visible: list[Use]
    # Runbooks the caller may not see: listed by id for the credential's owners, counted for others.
    hidden: list[Use]

    @property
    def hidden_count(self) -> int:
        return len(self.hidden)

    @property
    def total(self) -> int:
        return len(self.visible) + len(self.hidden)


class UsageProvider(Protocol):
    def drafts_using(self, credential: Credential) -> list:
        """Runbooks (archived ones too) whose draft blocks carry the credential: deleting it is
        refused while there are any."""

    def usage(self, *, credential: Credential, user) -> Usage:
        """Every runbook whose draft or versions carry it, as `user` may see them."""

    def revoke(self, *, credential: Credential, runbook_id, user) -> None:
        """Take back a runbook's use of it (the caller checked the owner role); 404 if none uses it."""

    def restore(self, *, credential: Credential, runbook_id, user) -> None: ...


_registered: list[UsageProvider] = []


def register_usage_provider(provider: UsageProvider) -> None:
    """Called once, from the upper layer's AppConfig.ready()."""
    _registered[:] = [provider]


def usage_provider() -> UsageProvider:
    # No silent default: "nobody uses it" would let a credential in use be deleted.
    if not _registered:
        raise ImproperlyConfigured("No credential usage provider is registered (apps.runbooks registers one).")
    return _registered[0]
