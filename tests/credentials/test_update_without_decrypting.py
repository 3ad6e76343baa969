"""credential_update never reads the stored secret back: an update works while the web process holds
no key that decrypts it, and a kept secret's fit for a new kind comes from what it was recorded to be
made of when saved."""

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from apps.core.errors import InvalidInput
from apps.credentials.fields import CredentialDecryptError
from apps.credentials.models import Credential
from apps.credentials.services import credential_create, credential_update

# Encrypts new secrets but decrypts none of those saved under the test settings' keys.
OTHER_KEYS = [Fernet.generate_key().decode()]
REFUSAL = "The saved secret cannot be sent in an HTTP header by this kind; enter a new one."


def _cannot_decrypt(credential: Credential) -> None:
    with pytest.raises(CredentialDecryptError):
        Credential.objects.get(pk=credential.pk).secret  # noqa: B018 - the read is the check


def test_an_update_keeping_the_secret_never_decrypts_it(cast):
    credential = credential_create(user=cast.owner, name="plain", kind="secret", secret="plain-ascii-value")
    with override_settings(CREDENTIAL_KEYS=OTHER_KEYS):
        _cannot_decrypt(credential)
        saved = credential_update(credential=credential, user=cast.owner, name="renamed", kind="token", description="x")
        assert (saved.name, saved.kind, saved.description) == ("renamed", "token", "x")
    assert Credential.objects.get(pk=credential.pk).secret == "plain-ascii-value"


def test_replacing_the_secret_never_reads_the_old_one(cast):
    credential = credential_create(user=cast.owner, name="swap", kind="token", secret="first-secret-value")
    with override_settings(CREDENTIAL_KEYS=OTHER_KEYS):
        credential_update(credential=credential, user=cast.owner, secret="second-secret-value")
        assert Credential.objects.get(pk=credential.pk).secret == "second-secret-value"


@pytest.mark.parametrize(
    ("secret", "kind", "fits"),
    [
        ("line-one\nline-two", "token", False),
        ("line-one\nline-two", "basic", False),
        ("pässwörd-1234", "token", False),
        ("pässwörd-1234", "header", False),
        ("pässwörd-1234", "basic", True),
        ("plain-ascii-value", "header", True),
    ],
)
def test_a_kept_secret_must_fit_the_new_kind_judged_without_decrypting(cast, secret, kind, fits):
    credential = credential_create(user=cast.owner, name="kept", kind="secret", secret=secret)
    changes = {"kind": kind, "username": "ops", "header_name": "X-Api-Key"}
    with override_settings(CREDENTIAL_KEYS=OTHER_KEYS):
        if fits:
            assert credential_update(credential=credential, user=cast.owner, **changes).kind == kind
        else:
            with pytest.raises(InvalidInput) as raised:
                credential_update(credential=credential, user=cast.owner, **changes)
            assert raised.value.errors["secret"] == [REFUSAL]
            assert Credential.objects.get(pk=credential.pk).kind == "secret"


def test_a_secret_saved_before_its_charset_was_recorded_needs_a_new_one_for_a_header_kind(cast):
    credential = credential_create(user=cast.owner, name="legacy", kind="secret", secret="plain-ascii-value")
    Credential.objects.filter(pk=credential.pk).update(secret_charset="")
    with pytest.raises(InvalidInput) as raised:
        credential_update(credential=credential, user=cast.owner, kind="token")
    assert raised.value.errors["secret"] == [REFUSAL]
    saved = credential_update(credential=credential, user=cast.owner, kind="token", secret="a-fresh-token-1")
    assert (saved.kind, saved.secret_charset) == ("token", "ascii")


def test_the_edit_page_and_the_admin_change_a_credential_without_decrypting_it(cast, client_for):
    credential = credential_create(user=cast.owner, name="paged", kind="secret", secret="plain-ascii-value")
    page, admin = client_for(cast.owner), client_for(cast.admin)
    with override_settings(CREDENTIAL_KEYS=OTHER_KEYS):
        answer = page.post(f"/credentials/{credential.pk}/edit/", {"name": "paged", "kind": "token", "secret": ""})
        assert answer.status_code == 302
        answer = admin.post(
            f"/admin/credentials/credential/{credential.pk}/change/",
            {
                "name": "paged-admin",
                "kind": "token",
                "username": "",
                "header_name": "",
                "description": "",
                "new_secret": "",
            },
        )
        assert answer.status_code == 302, answer.content.decode()[:2000]
    saved = Credential.objects.get(pk=credential.pk)
    assert (saved.name, saved.kind, saved.secret) == ("paged-admin", "token", "plain-ascii-value")
