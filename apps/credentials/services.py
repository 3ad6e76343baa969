"""Writes of credentials and their roles. Pages, the API, the admin and commands all call these.

No function here puts a secret into an error message, an audit detail or a log line.
"""

import re

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from guardian.core import ObjectPermissionChecker

from apps.audit.services import audit_record
from apps.blocks.fields import HEADER_NAME_RE
from apps.core.errors import Conflict, InvalidInput
from apps.core.object_roles import principal_label
from apps.credentials.fields import Sealed, rotate_token
from apps.credentials.models import (
    MAX_SECRET_LENGTH,
    MIN_SECRET_LENGTH,
    Credential,
    CredentialKind,
    SecretCharset,
)
from apps.credentials.roles import ROLES, Role
from apps.credentials.usage import usage_provider

# The name becomes a file name (/run/secrets/<name>) and part of an environment variable in runs.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
EDITABLE_FIELDS = ("name", "kind", "username", "header_name", "description", "secret")
# These kinds end up in an HTTP header, where a line break would split or smuggle headers.
HEADER_BOUND_KINDS = (CredentialKind.TOKEN, CredentialKind.BASIC, CredentialKind.HEADER)


class CredentialInUse(Conflict):
    """Deleting a credential that drafts' blocks still use; `runbooks` lists them.

    The message counts them without titles: the person deleting may not see every one of them."""

    def __init__(self, *, credential: Credential, runbooks: list):
        self.runbooks = runbooks
        count = len(runbooks)
        super().__init__(
            f"“{credential.name}” is used by the blocks of {count} runbook{'s' if count != 1 else ''}. "
            "Remove it from their blocks first."
        )


def _text(value, field: str, *, limit: int, errors: dict) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[field] = ["Enter text."]
        return ""
    value = value.strip()
    if len(value) > limit:
        errors[field] = [f"Keep it under {limit} characters."]
    return value


def _clean_secret(secret, kind: str, errors: dict) -> str | None:
    if secret is None or secret == "":
        errors["secret"] = ["A secret is required."]
        return None
    if not isinstance(secret, str):
        errors["secret"] = ["The secret must be text."]
        return None
    if len(secret) < MIN_SECRET_LENGTH:
        errors["secret"] = [
            f"The secret is {len(secret)} characters; at least {MIN_SECRET_LENGTH} are needed, because a "
            "shorter one cannot be masked safely in run output (it would match ordinary text and stay guessable)."
        ]
        return None
    if len(secret) > MAX_SECRET_LENGTH:
        errors["secret"] = [f"The secret is longer than {MAX_SECRET_LENGTH:,} characters."]
        return None
    if "\0" in secret:
        errors["secret"] = ["The secret may not contain NUL characters."]
        return None
    problem = secret_header_problem(secret, kind)
    if problem:
        errors["secret"] = [problem]
        return None
    return secret


def secret_header_problem(secret: str, kind: str) -> str | None:
    """A token or header value travels as-is in an HTTP header, which carries printable ASCII only
    (RFC 9110 field values); basic auth is base64-encoded, so only line breaks matter there."""
    if kind not in HEADER_BOUND_KINDS:
        return None
    if "\r" in secret or "\n" in secret:
        return "This kind of secret is sent in an HTTP header, so it may not contain line breaks."
    if kind != CredentialKind.BASIC and not all(" " <= char <= "~" or char == "\t" for char in secret):
        return (
            "This kind of secret is sent as-is in an HTTP header, which carries printable ASCII only: "
            "remove accented letters, other non-ASCII characters and control characters."
        )
    return None


def _clean_name(value, *, current: Credential | None, errors: dict) -> str:
    name = _text(value, "name", limit=100, errors=errors)
    if "name" in errors:
        return name
    if not name:
        errors["name"] = ["A name is required."]
    elif not NAME_RE.match(name):
        errors["name"] = ["Use letters, digits, “-”, “_” and “.” only, starting with a letter or digit."]
    else:
        clash = Credential.objects.filter(name__iexact=name)
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        if clash.exists():
            errors["name"] = [f"A credential named “{name}” already exists (names ignore case)."]
    return name


def _check_kind(kind, errors: dict) -> None:
    if kind in (None, ""):
        errors["kind"] = [f"Choose a kind: {', '.join(CredentialKind.values)}."]
    elif kind not in CredentialKind.values:
        errors["kind"] = [f"Unknown kind “{kind}”. Choose one of: {', '.join(CredentialKind.values)}."]


def _clean_kind_fields(kind: str, *, username, header_name, errors: dict) -> dict:
    """The username (basic auth) and header name (header kind) the kind needs, others blanked."""
    username = _text(username, "username", limit=200, errors=errors)
    header_name = _text(header_name, "header_name", limit=100, errors=errors)
    if kind == CredentialKind.BASIC and not username and "username" not in errors:
        errors["username"] = ["Basic auth needs a username."]
    if kind == CredentialKind.HEADER and "header_name" not in errors:
        if not header_name:
            errors["header_name"] = ["A header credential needs the header's name, e.g. X-Api-Key."]
        elif not HEADER_NAME_RE.match(header_name):
            errors["header_name"] = [f"“{header_name}” is not a valid header name (letters, digits and -_. only)."]
    if username and any(char in username for char in "\r\n\0:"):
        errors["username"] = ["The username may not contain “:” or line breaks."]
    # Fields that do not belong to the kind are dropped rather than kept around unseen.
    return {
        "username": username if kind == CredentialKind.BASIC else "",
        "header_name": header_name if kind == CredentialKind.HEADER else "",
    }


def secret_charset_of(secret: str) -> str:
    if "\r" in secret or "\n" in secret:
        return SecretCharset.TEXT
    return SecretCharset.LINE if secret_header_problem(secret, CredentialKind.TOKEN) else SecretCharset.ASCII


def charset_fits(charset: str, kind: str) -> bool:
    """Whether a secret recorded as `charset` may be sent by `kind` (see secret_header_problem)."""
    if kind not in HEADER_BOUND_KINDS:
        return True
    allowed = (SecretCharset.ASCII, SecretCharset.LINE) if kind == CredentialKind.BASIC else (SecretCharset.ASCII,)
    return charset in allowed


@sensitive_variables()
def credential_clean(data: dict, *, current: Credential | None) -> dict:
    """Validate every field first, so a bad one leaves nothing half-saved. Writes nothing."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput({name: ["Unknown field."] for name in sorted(unknown)})
    errors: dict[str, list[str]] = {}

    def pick(field, default=""):
        return data[field] if field in data else (getattr(current, field) if current else default)

    kind = pick("kind")
    cleaned: dict = {"name": _clean_name(pick("name"), current=current, errors=errors), "kind": kind}
    _check_kind(kind, errors)
    cleaned.update(_clean_kind_fields(kind, username=pick("username"), header_name=pick("header_name"), errors=errors))
    cleaned["description"] = _text(pick("description"), "description", limit=2000, errors=errors)

    secret = data.get("secret")
    if current is None or secret not in (None, ""):
        cleaned["secret"] = _clean_secret(secret, kind, errors)
    elif kind in HEADER_BOUND_KINDS and kind != current.kind and not charset_fits(current.secret_charset, kind):
        # Kept secret, new kind: it must still fit the new kind's rules, judged by what it was recorded
        # to be made of when saved, so the web process never decrypts it.
        errors["secret"] = ["The saved secret cannot be sent in an HTTP header by this kind; enter a new one."]
    if cleaned.get("secret"):
        cleaned["secret_charset"] = secret_charset_of(cleaned["secret"])
    if errors:
        raise InvalidInput(errors)
    return cleaned


@sensitive_variables()  # outermost: error reports hide every frame below
@transaction.atomic
def credential_create(
    *, user, name: str, kind: str, secret: str, username: str = "", header_name: str = "", description: str = ""
) -> Credential:
    """Create a credential; the creator becomes its owner."""
    cleaned = credential_clean(
        {
            "name": name,
            "kind": kind,
            "secret": secret,
            "username": username,
            "header_name": header_name,
            "description": description,
        },
        current=None,
    )
    credential = Credential(**cleaned, owner=user, secret_changed_at=timezone.now())
    credential._history_user = user
    credential.save()
    ROLES.set_role(credential, user, Role.OWNER)
    audit_record(actor=user, action="credential.create", obj=credential, detail={"name": credential.name, "kind": kind})
    return credential


@sensitive_variables()
@transaction.atomic
def credential_update(*, credential: Credential, user, **changes) -> Credential:
    """Change any of name, kind, username, header_name, description; a non-empty `secret` replaces it.
    The stored secret is never decrypted here (a kept secret's fit for a new kind is read from
    `secret_charset`), so the web process needs the credential keys only to encrypt."""
    locked = Credential.objects.select_for_update().get(pk=credential.pk)
    cleaned = credential_clean(changes, current=locked)
    fields = [
        field for field in ("name", "kind", "username", "header_name", "description")
        if getattr(locked, field) != cleaned[field]
    ]  # fmt: skip
    for field in fields:
        setattr(locked, field, cleaned[field])
    # The new secret replaces the stored one unread: nothing here decrypts.
    secret_changed = "secret" in cleaned
    if secret_changed:
        locked.secret, locked.secret_charset = cleaned["secret"], cleaned["secret_charset"]
        locked.secret_changed_at = timezone.now()
    if fields or secret_changed:
        locked._history_user = user
        locked.save()
        audit_record(
            actor=user, action="credential.change", obj=locked,
            detail={"name": locked.name, "fields": fields, "secret_changed": secret_changed},
        )  # fmt: skip
    return locked


@transaction.atomic
def credential_delete(*, credential: Credential, user) -> None:
    """Delete, unless a runbook's blocks still use it (CredentialInUse lists them)."""
    locked = Credential.objects.select_for_update().get(pk=credential.pk)
    runbooks = usage_provider().drafts_using(locked)
    if runbooks:
        raise CredentialInUse(credential=locked, runbooks=runbooks)
    name, pk = locked.name, locked.pk
    locked._history_user = user
    locked.delete()
    audit_record(actor=user, action="credential.delete", object_type="credential", object_id=pk, detail={"name": name})


@transaction.atomic
def credential_grant(*, credential: Credential, actor, principal, role: str | None) -> None:
    """Give `principal` (User or Group) exactly `role`; None revokes. At least one owner must remain."""
    previous = ROLES.grant(credential, principal, role)
    if previous != role:
        audit_record(
            actor=actor, action="credential.share", obj=credential,
            detail={"principal": principal_label(principal), "role": role, "previous": previous},
        )  # fmt: skip


@transaction.atomic
def credential_set_access(*, credential: Credential, actor, entries) -> list[dict]:
    """Replace every grant with `entries` ([{principal, role}])."""
    ROLES.replace_access(
        credential,
        entries,
        lambda principal, role: credential_grant(credential=credential, actor=actor, principal=principal, role=role),
    )
    return ROLES.access_entries(credential)


def credentials_check_attachable(*, user, credential_ids) -> None:
    """Refuse (InvalidInput on `credentials`) ids the user may not attach: missing, or no `user` role.

    Both cases get the same message so the check cannot be used to discover credentials.
    """
    ids = sorted({int(value) for value in credential_ids or ()})
    if not ids:
        return
    found = {credential.pk: credential for credential in Credential.objects.filter(pk__in=ids)}
    checker = ObjectPermissionChecker(user)
    if found and user.is_authenticated and not user.is_superuser:
        checker.prefetch_perms(list(found.values()))
    refused = [
        pk for pk in ids
        if pk not in found or not user.is_authenticated or not (user.is_superuser or checker.has_perm("use_credential", found[pk]))
    ]  # fmt: skip
    if refused:
        raise InvalidInput(
            {
                "credentials": [
                    f"You cannot attach credential #{pk}: it does not exist or you do not have the user role on it."
                    for pk in refused
                ]
            }
        )


def credentials_check_changeable(*, user, credential_ids, block_key: str) -> None:
    """Refuse (InvalidInput on `credentials`) a change to a block that keeps credentials the user
    holds no `user` role on. The block already names them, so the message may too, with who can
    make the change instead."""
    ids = sorted({int(value) for value in credential_ids or ()})
    if not ids or (user.is_authenticated and user.is_superuser):
        return
    credentials = list(Credential.objects.filter(pk__in=ids).select_related("owner"))
    checker = ObjectPermissionChecker(user)
    if credentials and user.is_authenticated:
        checker.prefetch_perms(credentials)
    refused = [
        credential for credential in credentials
        if not user.is_authenticated or not checker.has_perm("use_credential", credential)
    ]  # fmt: skip
    if refused:
        raise InvalidInput(
            {
                "credentials": [
                    f"Block “{block_key}” carries credential “{credential.name}”, and changing the kind or "
                    f"configuration of such a block takes the user role on it, which you do not hold. "
                    f"Ask {credential.owner.get_username()} (its owner) or someone with the user role on "
                    f"“{credential.name}” to make this change, or remove the credential from the block."
                    for credential in refused
                ]
            }
        )


def credential_use(*, credential: Credential, actor, execution_id, block_key: str) -> None:
    """Record that a run used the credential (the execution and block, never the value)."""
    now = timezone.now()
    Credential.objects.filter(pk=credential.pk).update(last_used_at=now)
    credential.last_used_at = now
    audit_record(
        actor=actor, action="credential.use", obj=credential,
        detail={"name": credential.name, "execution": execution_id, "block": block_key},
    )  # fmt: skip


@sensitive_variables()
@transaction.atomic
def credentials_rotate_keys(*, actor="rotate_credential_keys") -> int:
    """Re-encrypt every stored secret under the first of CREDENTIAL_KEYS; all or nothing.

    History rows hold no ciphertext (the secret is excluded from Credential.history), so the
    credential rows are everything there is to rotate.
    """
    rows = list(Credential.objects.select_for_update().order_by("pk").values_list("pk", "name", "secret"))
    rotated = {pk: rotate_token(sealed.token, label=repr(name)) for pk, name, sealed in rows if sealed is not None}
    for pk, token in rotated.items():
        Credential.objects.filter(pk=pk).update(secret=Sealed(token))
    audit_record(actor=actor, action="credential.rotate_keys", object_type="credential", detail={"count": len(rotated)})
    return len(rotated)
