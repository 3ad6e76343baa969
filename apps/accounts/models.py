import hashlib
import secrets

from django.conf import settings
from django.db import models

TOKEN_PREFIX = "rbk_"
TOKEN_NAME_MAX_LENGTH = 100


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast unsalted hash is enough to make a leaked table useless.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token_value() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiToken(models.Model):
    """A personal API token; only its hash is stored, the value is shown once at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=TOKEN_NAME_MAX_LENGTH)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so a user can tell tokens apart without the secret part.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Names tell a user's active tokens apart; a revoked token frees its name for reuse.
            models.UniqueConstraint(
                fields=["user", "name"], condition=models.Q(revoked_at__isnull=True), name="unique_active_token_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
