"""The encrypted column: keys from CREDENTIAL_KEYS, sealed until read, loud failures, no ciphertext as secret."""

import pytest
from cryptography.fernet import Fernet
from django.core import serializers
from django.db import connection
from django.test import override_settings

from apps.credentials.fields import CredentialDecryptError, CredentialKeyError, Sealed
from apps.credentials.models import Credential
from tests.credentials.conftest import SECRET


def raw_secret(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM credentials_credential WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_it_stores_only_ciphertext(credential):
    stored = raw_secret(credential.pk)
    assert SECRET not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token


def test_it_decrypts_on_read_with_the_first_key(credential, settings):
    stored = raw_secret(credential.pk)
    assert Fernet(settings.CREDENTIAL_KEYS[0]).decrypt(stored.encode()).decode() == SECRET
    assert Credential.objects.get(pk=credential.pk).secret == SECRET


def test_it_keeps_loaded_values_sealed_until_read(credential):
    loaded = Credential.objects.get(pk=credential.pk)
    assert isinstance(loaded.__dict__["secret"], Sealed)
    assert "gAAAAA" not in str(loaded.__dict__["secret"])
    assert "gAAAAA" not in repr(loaded.__dict__["secret"])


def test_saving_a_loaded_row_keeps_the_stored_token(credential):
    before = raw_secret(credential.pk)
    loaded = Credential.objects.get(pk=credential.pk)
    loaded.description = "changed"
    loaded.save()
    assert raw_secret(credential.pk) == before


def test_a_wrong_key_raises_a_clear_error_naming_the_credential(credential):
    with override_settings(CREDENTIAL_KEYS=[Fernet.generate_key().decode()]):
        loaded = Credential.objects.get(pk=credential.pk)
        with pytest.raises(CredentialDecryptError) as raised:
            loaded.secret  # noqa: B018
    message = str(raised.value)
    assert "cannot decrypt credential 'payments-api'" in message
    assert "CREDENTIAL_KEYS" in message
    assert "gAAAAA" not in message


def test_tampered_ciphertext_raises_instead_of_returning_garbage(credential):
    stored = raw_secret(credential.pk)
    flipped = stored[:20] + ("A" if stored[20] != "A" else "B") + stored[21:]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE credentials_credential SET secret = %s WHERE id = %s", [flipped, credential.pk])
    loaded = Credential.objects.get(pk=credential.pk)
    with pytest.raises(CredentialDecryptError, match="cannot decrypt credential"):
        loaded.secret  # noqa: B018


def test_plaintext_in_the_column_is_refused_not_passed_on(credential):
    # What the library would hand back as "the secret" when decryption fails.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE credentials_credential SET secret = %s WHERE id = %s", ["not-a-token", credential.pk])
    with pytest.raises(CredentialDecryptError):
        Credential.objects.get(pk=credential.pk).secret  # noqa: B018


def test_missing_keys_fail_loudly(credential):
    with override_settings(CREDENTIAL_KEYS=[]), pytest.raises(CredentialKeyError, match="CREDENTIAL_KEYS is empty"):
        Credential.objects.get(pk=credential.pk).secret  # noqa: B018


def test_a_malformed_key_is_named(credential):
    bad_keys = override_settings(CREDENTIAL_KEYS=["not-a-fernet-key"])
    with bad_keys, pytest.raises(CredentialKeyError, match="entry 1 is not a Fernet key"):
        Credential.objects.get(pk=credential.pk).secret  # noqa: B018


def test_an_old_key_still_decrypts_after_a_new_one_is_put_first(credential, settings):
    new_key = Fernet.generate_key().decode()
    with override_settings(CREDENTIAL_KEYS=[new_key, *settings.CREDENTIAL_KEYS]):
        assert Credential.objects.get(pk=credential.pk).secret == SECRET


def test_dumpdata_serialises_ciphertext_not_plaintext(credential):
    dumped = serializers.serialize("json", Credential.objects.filter(pk=credential.pk))
    assert SECRET not in dumped
    assert "gAAAAA" in dumped
