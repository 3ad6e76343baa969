"""Which runbooks use a credential, and its owner's revocation of a runbook's use of it.

A runbook uses a credential when its draft or any of its versions has a block that carries it:
every version stays runnable, so a revocation has to reach them all (the engine checks it before a
step runs, see apps.executions.engine). Titles are shown only for runbooks the caller may see;
the others are counted, and listed by id for the credential's owners so they can revoke them.
"""

from django.db import transaction
from django.http import Http404
from guardian.core import ObjectPermissionChecker

from apps.audit.services import audit_record
from apps.blocks.kinds import BlockKind
from apps.credentials.models import Credential
from apps.credentials.roles import SHARE as CREDENTIAL_SHARE
from apps.credentials.selectors import credential_ids_of_config
from apps.credentials.usage import Usage, Use
from apps.runbooks.models import Block, CredentialRevocation, Runbook, RunbookVersion

CARRYING_KINDS = (BlockKind.COMMAND, BlockKind.API_CALL)


def _carries(credential_id: int, blocks) -> bool:
    return any(credential_id in credential_ids_of_config(kind, config) for kind, config in blocks)


def runbook_ids_using_credential(credential: Credential) -> set[int]:
    """Draft blocks and version snapshots are both read: JSON containment queries differ between
    SQLite and PostgreSQL, so SQL narrows by kind (drafts) and Python looks inside the configs."""
    ids = {
        runbook_id
        for runbook_id, kind, config in Block.objects.filter(kind__in=CARRYING_KINDS).values_list(
            "runbook_id", "kind", "config"
        )
        if credential.pk in credential_ids_of_config(kind, config)
    }
    for runbook_id, snapshot in RunbookVersion.objects.exclude(runbook_id__in=ids).values_list(
        "runbook_id", "snapshot"
    ):
        if runbook_id in ids:
            continue
        blocks = (snapshot or {}).get("blocks") or []
        if _carries(credential.pk, ((block.get("kind"), block.get("config")) for block in blocks)):
            ids.add(runbook_id)
    return ids


def runbooks_using_credential(credential: Credential) -> list[Runbook]:
    """Runbooks (archived ones too) whose draft blocks use the credential, by title.

    JSON containment queries differ between SQLite and PostgreSQL, so this filters on the block
    kind in SQL and looks inside the config in Python: only command and api_call blocks are read.
    """
    runbooks = {}
    blocks = Block.objects.filter(kind__in=CARRYING_KINDS).select_related("runbook")
    for block in blocks.only("kind", "config", "runbook__id", "runbook__title", "runbook__archived_at"):
        if credential.pk in credential_ids_of_config(block.kind, block.config):
            runbooks[block.runbook.pk] = block.runbook
    return sorted(runbooks.values(), key=lambda runbook: (runbook.title.lower(), runbook.pk))


def credential_usage(*, credential: Credential, user) -> Usage:
    runbooks = list(Runbook.objects.filter(pk__in=runbook_ids_using_credential(credential)).order_by("title", "pk"))
    revoked = set(CredentialRevocation.objects.filter(credential=credential).values_list("runbook_id", flat=True))
    checker = ObjectPermissionChecker(user)
    if runbooks and not user.is_superuser:
        checker.prefetch_perms(runbooks)
    visible, hidden = [], []
    for runbook in runbooks:
        may_see = user.is_superuser or checker.has_perm("view_runbook", runbook)
        use = Use(
            runbook_id=runbook.pk,
            title=runbook.title if may_see else None,
            archived=runbook.archived_at is not None,
            revoked=runbook.pk in revoked,
        )
        (visible if may_see else hidden).append(use)
    return Usage(visible=visible, hidden=hidden)


def may_revoke(user, credential: Credential) -> bool:
    return user.has_perm(CREDENTIAL_SHARE, credential)


def _runbook_using(credential: Credential, runbook_id) -> Runbook:
    try:
        runbook_id = int(runbook_id)
    except (TypeError, ValueError):
        raise Http404("No such runbook uses this credential.") from None
    if runbook_id not in runbook_ids_using_credential(credential):
        raise Http404("No such runbook uses this credential.")
    return Runbook.objects.get(pk=runbook_id)


@transaction.atomic
def credential_usage_revoke(*, credential: Credential, runbook_id, user) -> CredentialRevocation:
    """Take back a runbook's use of the credential (its owners only; the caller checks the role).
    Idempotent: revoking twice changes nothing and records nothing the second time."""
    runbook = _runbook_using(credential, runbook_id)
    revocation, created = CredentialRevocation.objects.get_or_create(
        runbook=runbook, credential=credential, defaults={"revoked_by": user}
    )
    if not created:
        return revocation
    audit_record(
        actor=user,
        action="credential.revoke_use",
        obj=credential,
        detail={"name": credential.name, "runbook": runbook.pk},
    )
    return revocation


@transaction.atomic
def credential_usage_restore(*, credential: Credential, runbook_id, user) -> None:
    """Give a runbook back the use of a credential revoked from it (idempotent)."""
    runbook = _runbook_using(credential, runbook_id)
    deleted, _ = CredentialRevocation.objects.filter(runbook=runbook, credential=credential).delete()
    if not deleted:
        return
    audit_record(
        actor=user,
        action="credential.restore_use",
        obj=credential,
        detail={"name": credential.name, "runbook": runbook.pk},
    )


def revoked_credential_ids(runbook_id: int) -> set[int]:
    return set(CredentialRevocation.objects.filter(runbook_id=runbook_id).values_list("credential_id", flat=True))


class RunbookUsage:
    """The credentials app's UsageProvider (apps.credentials.usage), registered in RunbooksConfig.ready()."""

    def drafts_using(self, credential: Credential) -> list[Runbook]:
        return runbooks_using_credential(credential)

    def usage(self, *, credential: Credential, user) -> Usage:
        return credential_usage(credential=credential, user=user)

    def revoke(self, *, credential: Credential, runbook_id, user) -> None:
        credential_usage_revoke(credential=credential, runbook_id=runbook_id, user=user)

    def restore(self, *, credential: Credential, runbook_id, user) -> None:
        credential_usage_restore(credential=credential, runbook_id=runbook_id, user=user)
