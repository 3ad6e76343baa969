"""rotate_credential_keys: re-encrypt under the first key, then old keys can go."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from apps.audit.models import AuditEvent
from apps.credentials.fields import CredentialDecryptError
from apps.credentials.models import Credential
from apps.credentials.services import credential_create

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def tokens() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, secret FROM credentials_credential ORDER BY id")
        return dict(cursor.fetchall())


def test_after_rotating_and_dropping_the_old_key_everything_decrypts(cast):
    secrets = {"alpha-token": "alpha-secret-0001", "beta-basic": "beta-password-0002"}
    with override_settings(CREDENTIAL_KEYS=[KEY_B]):
        credential_create(user=cast.owner, name="alpha-token", kind="token", secret=secrets["alpha-token"])
        credential_create(
            user=cast.owner, name="beta-basic", kind="basic", username="svc", secret=secrets["beta-basic"]
        )
    before = tokens()
    with override_settings(CREDENTIAL_KEYS=[KEY_A]), pytest.raises(CredentialDecryptError):
        Credential.objects.get(name="alpha-token").secret  # noqa: B018
    out = StringIO()
    with override_settings(CREDENTIAL_KEYS=[KEY_A, KEY_B]):
        call_command("rotate_credential_keys", stdout=out)
    assert "Re-encrypted 2 credentials" in out.getvalue()
    after = tokens()
    assert set(after) == set(before) and all(after[pk] != before[pk] for pk in before)
    with override_settings(CREDENTIAL_KEYS=[KEY_A]):
        for credential in Credential.objects.all():
            assert credential.secret == secrets[credential.name]
    assert AuditEvent.objects.filter(action="credential.rotate_keys", detail__count=2).exists()


def test_rotation_without_the_old_key_changes_nothing_and_says_which(cast):
    with override_settings(CREDENTIAL_KEYS=[KEY_B]):
        credential_create(user=cast.owner, name="first-one", kind="secret", secret="first-secret-01")
    with override_settings(CREDENTIAL_KEYS=[KEY_A]):
        credential_create(user=cast.owner, name="second-one", kind="secret", secret="second-secret-02")
    before = tokens()
    expected = r"cannot decrypt credential 'first-one'.*Nothing was re-encrypted"
    with override_settings(CREDENTIAL_KEYS=[KEY_A]), pytest.raises(CommandError, match=expected):
        call_command("rotate_credential_keys", stdout=StringIO())
    assert tokens() == before


def test_history_holds_no_ciphertext_to_rotate(cast):
    credential_create(user=cast.owner, name="hist-check", kind="token", secret="history-secret-1")
    with connection.cursor() as cursor:
        columns = [column.name for column in connection.introspection.get_table_description(
            cursor, "credentials_historicalcredential"
        )]  # fmt: skip
        cursor.execute("SELECT * FROM credentials_historicalcredential")
        rows = cursor.fetchall()
    assert "secret" not in columns
    assert rows
    assert not any(isinstance(value, str) and "gAAAAA" in value for row in rows for value in row)
