from django.core.management.base import BaseCommand, CommandError

from apps.credentials.fields import CredentialDecryptError, CredentialKeyError
from apps.credentials.services import credentials_rotate_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every credential under the first key of CREDENTIAL_KEYS. Put the new key first, "
        "keep the old ones after it, run this, then remove the old keys."
    )

    def handle(self, *args, **options):
        try:
            count = credentials_rotate_keys()
        except (CredentialDecryptError, CredentialKeyError) as error:
            # Nothing was changed: the rotation runs in one transaction.
            raise CommandError(f"{error}. Nothing was re-encrypted.") from None
        self.stdout.write(f"Re-encrypted {count} credential{'s' if count != 1 else ''} under the first key.")
        self.stdout.write("History rows hold no ciphertext (the secret is excluded from history): nothing else to do.")
