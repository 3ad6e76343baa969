"""What a step may use of its credentials: refused ones fail the run before anything runs (or the
step, when found later); allowed ones are decrypted for that step alone, each use recorded."""

from dataclasses import dataclass

from apps.audit.services import audit_record
from apps.credentials.fields import CredentialDecryptError, CredentialKeyError
from apps.credentials.models import Credential
from apps.credentials.selectors import credential_ids_of_config
from apps.credentials.services import credential_use, secret_header_problem
from apps.executions.models import Execution, StepRun, StepStatus
from apps.runbooks.usage import revoked_credential_ids


@dataclass(frozen=True)
class DecryptedCredential:
    """A credential with its secret, for one step only. The repr never shows the secret."""

    id: int
    name: str
    kind: str
    username: str
    header_name: str
    secret: str

    def __repr__(self) -> str:
        return f"<DecryptedCredential {self.id} {self.name}>"


class StepError(Exception):
    """A step that cannot even start (a missing credential …): it fails with this message."""


def _refusal(execution: Execution, block: dict, found: dict[int, Credential]) -> str | None:
    """Why the block may not use its credentials in this run (deleted, or revoked from the runbook
    by a credential owner), or None. Checked for every version: an old one may carry anything."""
    ids = sorted(credential_ids_of_config(block["kind"], block.get("config") or {}))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        return f"Credential #{missing[0]} attached to this block no longer exists."
    revoked = revoked_credential_ids(execution.runbook_id) & set(ids)
    if revoked:
        return f"Credential “{found[min(revoked)].name}” is no longer granted to this runbook."
    return None


def _refuse(execution: Execution, block: dict, found: dict[int, Credential], reason: str) -> StepError:
    for credential in found.values():
        audit_record(
            actor=execution.triggered_by or "system",
            action="credential.use_refused",
            obj=credential,
            detail={"name": credential.name, "execution": execution.pk, "block": block["key"], "reason": reason},
        )
    return StepError(reason)


def credentials_preflight(
    execution: Execution, steps: list[StepRun], blocks: dict[str, dict]
) -> tuple[StepRun, str] | None:
    """The first step still to run whose credentials are refused: the run fails before anything runs."""
    for step in steps[execution.next_position :]:
        if step.status != StepStatus.PENDING:
            continue
        block = blocks[step.block_key]
        ids = credential_ids_of_config(block["kind"], block.get("config") or {})
        if not ids:
            continue
        found = {credential.pk: credential for credential in Credential.objects.filter(pk__in=ids)}
        reason = _refusal(execution, block, found)
        if reason:
            _refuse(execution, block, found, reason)
            return step, reason
    return None


def credentials_decrypt(execution: Execution, block: dict) -> dict[int, DecryptedCredential]:
    """The block's credentials, decrypted; each use is recorded (audit + last_used_at)."""
    ids = sorted(credential_ids_of_config(block["kind"], block.get("config") or {}))
    found = {credential.pk: credential for credential in Credential.objects.filter(pk__in=ids)}
    reason = _refusal(execution, block, found)
    if reason:
        raise _refuse(execution, block, found, reason)
    credentials = {}
    for pk in ids:
        credential = found[pk]
        try:
            secret = credential.secret
        except (CredentialDecryptError, CredentialKeyError):
            raise StepError(
                f"The secret of credential “{credential.name}” cannot be decrypted with the configured keys."
            ) from None
        if block["kind"] == "api_call" and secret_header_problem(secret, credential.kind):
            # Saved before the header rule existed: say so instead of crashing in httpx.
            raise StepError(
                f"The secret of credential “{credential.name}” cannot be sent in an HTTP header; "
                "its owner must enter a new one."
            )
        credentials[pk] = DecryptedCredential(
            id=pk,
            name=credential.name,
            kind=credential.kind,
            username=credential.username,
            header_name=credential.header_name,
            secret=secret,
        )
        credential_use(
            credential=credential,
            actor=execution.triggered_by or "system",
            execution_id=execution.pk,
            block_key=block["key"],
        )
    return credentials
