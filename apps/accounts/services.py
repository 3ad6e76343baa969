from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ApiToken, hash_token, new_token_value
from apps.audit.services import audit_record
from apps.core.errors import InvalidInput

# Writing last_used_at on every request would turn every API read into a write; once a minute is
# precise enough for "last used".
LAST_USED_PRECISION = timedelta(minutes=1)


@transaction.atomic
def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a token; returns it with its plain value, which is never retrievable again."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput({"name": ["Give the token a name, e.g. where it will be used."]})
    if len(name) > 100:
        raise InvalidInput({"name": ["Keep the name under 100 characters."]})
    if user.api_tokens.filter(name=name, revoked_at__isnull=True).exists():
        raise InvalidInput({"name": [f"You already have an active token named “{name}”."]})
    value = new_token_value()
    token = ApiToken.objects.create(user=user, name=name, token_hash=hash_token(value), prefix=value[:8])
    audit_record(actor=user, action="token.create", obj=token, detail={"name": name, "prefix": token.prefix})
    return token, value


@transaction.atomic
def api_token_revoke(*, token: ApiToken, user) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=user, action="token.revoke", obj=token, detail={"name": token.name, "prefix": token.prefix})


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
