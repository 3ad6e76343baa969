from django.conf import settings
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from apps.credentials.fields import SecretField

# Masking a shorter secret would also mask every innocent occurrence of those few characters and
# still leave it guessable; see apps.core.masking.
MIN_SECRET_LENGTH = 8
MAX_SECRET_LENGTH = 16 * 1024


class CredentialKind(models.TextChoices):
    TOKEN = "token", "Token (bearer)"
    BASIC = "basic", "Basic auth (username + password)"
    HEADER = "header", "Header (name + value)"
    SECRET = "secret", "Generic secret"


class SecretCharset(models.TextChoices):
    """What a secret is made of, recorded when it is saved, so a later change of kind can tell
    whether the kept secret still fits the new kind without decrypting it ("" = saved before this
    was recorded: a change to a header-bound kind then asks for a new secret)."""

    ASCII = "ascii", "Printable ASCII on one line"  # fits every kind
    LINE = "line", "One line"  # fits basic auth (base64-encoded) and generic secrets
    TEXT = "text", "Several lines"  # fits generic secrets only


class Credential(models.Model):
    """A named secret, encrypted at rest and write-only: nothing shows it once saved."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=CredentialKind.choices)
    username = models.CharField(max_length=200, blank=True, help_text="For basic auth")
    header_name = models.CharField(max_length=100, blank=True, help_text="For a header credential")
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_credentials")
    secret = SecretField()
    secret_charset = models.CharField(max_length=5, choices=SecretCharset.choices, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    secret_changed_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    # The secret is kept out of history altogether: no plaintext, no ciphertext to rotate or leak,
    # and nothing derived from it.
    history = HistoricalRecords(excluded_fields=["secret", "secret_charset", "updated_at", "last_used_at"])

    class Meta:
        ordering = ["name"]
        permissions = [
            ("use_credential", "Can attach the credential to blocks"),
            ("share_credential", "Can grant roles on the credential"),
        ]

    def __str__(self) -> str:
        return self.name


# Direct foreign keys for guardian, as for runbooks: indexed integer joins for checks and lists.
class CredentialUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Credential, on_delete=models.CASCADE)


class CredentialGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Credential, on_delete=models.CASCADE)
