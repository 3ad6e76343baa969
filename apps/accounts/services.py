from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import TOKEN_NAME_MAX_LENGTH, ApiToken, hash_token, new_token_value
from apps.audit.services import audit_record
from apps.core.errors import InvalidInput

# Writing last_used_at on every request would turn every API read into a write; once a minute is
# precise enough for "last used".
LAST_USED_PRECISION = timedelta(minutes=1)


def _duplicate_name(name: str) -> InvalidInput:
    return InvalidInput({"name": [f"You already have an active token named “{name}”. Choose another name."]})


@transaction.atomic
def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a token; returns it with its plain value, which is never retrievable again."""
    if name is not None and not isinstance(name, str):
        raise InvalidInput({"name": ["The name must be text."]})
    name = (name or "").strip()
    if not name:
        raise InvalidInput({"name": ["Give the token a name, e.g. where it will be used."]})
    if len(name) > TOKEN_NAME_MAX_LENGTH:
        raise InvalidInput(
            {"name": [f"Keep the name to {TOKEN_NAME_MAX_LENGTH} characters or fewer (this one has {len(name)})."]}
        )
    if user.api_tokens.filter(name=name, revoked_at__isnull=True).exists():
        raise _duplicate_name(name)
    value = new_token_value()
    try:
        # The savepoint keeps the outer transaction usable when a concurrent request wins the race
        # for the same name (the partial unique constraint is the real guard).
        with transaction.atomic():
            token = ApiToken.objects.create(user=user, name=name, token_hash=hash_token(value), prefix=value[:8])
    except IntegrityError:
        raise _duplicate_name(name) from None
    audit_record(actor=user, action="token.create", obj=token, detail={"name": name, "prefix": token.prefix})
    return token, value


@transaction.atomic
def api_token_revoke(*, token: ApiToken, user) -> ApiToken:
    """Revoke a token (idempotent); the row stays so the list and the audit trail keep its history."""
    locked = ApiToken.objects.select_for_update().get(pk=token.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_record(
            actor=user, action="token.revoke", obj=locked, detail={"name": locked.name, "prefix": locked.prefix}
        )
    token.revoked_at = locked.revoked_at
    return token


def api_token_authenticate(*, value: str) -> ApiToken | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(value), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
