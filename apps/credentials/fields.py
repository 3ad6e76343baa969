"""The encrypted secret column.

Why a subclass of django-fernet-encrypted-fields' EncryptedTextField instead of the field itself:
- the library derives its keys from SECRET_KEY and SALT_KEY; ours come from CREDENTIAL_KEYS (a
  MultiFernet: the first key encrypts, every key decrypts), so rotating Django's SECRET_KEY can
  never make credentials unreadable and credential keys can be rotated on their own;
- the library swallows InvalidToken and hands back the ciphertext as if it were the secret; a run
  would then send ciphertext as a password. Here a wrong or missing key, or tampered ciphertext,
  raises CredentialDecryptError naming the credential;
- the value loaded from the database stays sealed (a `Sealed` token) until code actually reads
  `credential.secret`, so list pages, the admin and the API never decrypt anything, and saving a
  row re-writes the stored token untouched instead of needing the key.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db.models.query_utils import DeferredAttribute
from encrypted_fields.fields import EncryptedTextField


class CredentialKeyError(Exception):
    """CREDENTIAL_KEYS is empty or holds something that is not a Fernet key."""


class CredentialDecryptError(Exception):
    """A stored secret that none of CREDENTIAL_KEYS can decrypt (wrong key, or tampered ciphertext)."""


class Sealed:
    """Ciphertext as loaded from the database. Renders as a placeholder, never as the token."""

    __slots__ = ("token",)

    def __init__(self, token: str):
        self.token = token

    def __repr__(self) -> str:
        return "<sealed secret>"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return isinstance(other, Sealed) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)


def credential_fernet() -> MultiFernet:
    """Built on every use, not cached, so a changed CREDENTIAL_KEYS (rotation, tests) applies at once."""
    keys = [key for key in getattr(settings, "CREDENTIAL_KEYS", []) if key]
    if not keys:
        raise CredentialKeyError("CREDENTIAL_KEYS is empty: no key to encrypt or decrypt credentials with.")
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            raise CredentialKeyError(
                f"CREDENTIAL_KEYS entry {position} is not a Fernet key (32 url-safe base64-encoded bytes)."
            ) from None
    return MultiFernet(fernets)


def _undecryptable(label: str) -> CredentialDecryptError:
    return CredentialDecryptError(
        f"cannot decrypt credential {label}: the key that encrypted it is not in CREDENTIAL_KEYS "
        "(or the stored ciphertext was altered)"
    )


def decrypt_token(token: str, *, label: str) -> str:
    try:
        return credential_fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise _undecryptable(label) from None


def rotate_token(token: str, *, label: str) -> str:
    """The same secret re-encrypted under the first key."""
    try:
        return credential_fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise _undecryptable(label) from None


class SecretDescriptor(DeferredAttribute):
    """A data descriptor: every read of `instance.secret` passes here, so sealed values decrypt lazily."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            label = instance.__dict__.get("name") or f"#{instance.pk}"
            return decrypt_token(value.token, label=repr(label) if isinstance(label, str) else label)
        return value

    def __set__(self, instance, value) -> None:
        instance.__dict__[self.field.attname] = value


class SecretField(EncryptedTextField):
    descriptor_class = SecretDescriptor

    @property
    def f(self) -> MultiFernet:  # the library encrypts through self.f
        return credential_fernet()

    @property
    def keys(self) -> list[bytes]:
        return [key.encode("ascii") for key in settings.CREDENTIAL_KEYS]

    def from_db_value(self, value, expression, connection):
        return None if value is None else Sealed(value)

    def to_python(self, value):
        # The library decrypts here and falls back to returning its input when decryption fails,
        # which is how ciphertext passes for a secret. Plaintext stays plaintext; reads of stored
        # values go through SecretDescriptor, which fails loudly instead.
        return value

    def pre_save(self, model_instance, add):
        # The raw value, so saving a loaded row does not need to decrypt it first.
        return model_instance.__dict__.get(self.attname)

    def get_prep_value(self, value):
        if isinstance(value, Sealed):
            return value.token
        if value in (None, ""):
            return None
        return super().get_prep_value(value)

    def value_to_string(self, obj) -> str:
        # dumpdata writes the ciphertext, never the plaintext.
        value = obj.__dict__.get(self.attname)
        if isinstance(value, Sealed):
            return value.token
        return self.get_prep_value(value) or ""
