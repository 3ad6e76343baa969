"""The credential admin: no plaintext or ciphertext on any page; saves go through the services."""

from apps.credentials.models import Credential
from apps.runbooks.services.runbooks import runbook_create
from tests.credentials.conftest import SECRET


def test_change_page_shows_neither_plaintext_nor_ciphertext(credential, cast, client_for):
    client = client_for(cast.admin)
    for path in ("", f"{credential.pk}/change/", f"{credential.pk}/history/"):
        page = client.get(f"/admin/credentials/credential/{path}")
        body = page.content.decode()
        assert page.status_code == 200, path
        assert SECRET not in body and "gAAAAA" not in body, path
    change = client.get(f"/admin/credentials/credential/{credential.pk}/change/").content.decode()
    assert 'name="new_secret"' in change and 'name="secret"' not in change


def test_adding_through_the_admin_uses_the_services(cast, client_for):
    page = client_for(cast.admin).post(
        "/admin/credentials/credential/add/",
        {"name": "from-admin", "kind": "token", "new_secret": "admin-made-secret", "description": ""},
    )
    assert page.status_code == 302
    credential = Credential.objects.get(name="from-admin")
    assert credential.secret == "admin-made-secret"
    assert credential.owner == cast.admin
    assert cast.admin.has_perm("credentials.share_credential", credential)


def test_the_admin_refuses_a_short_secret_in_the_form(cast, client_for):
    page = client_for(cast.admin).post(
        "/admin/credentials/credential/add/", {"name": "tiny", "kind": "token", "new_secret": "1234567"}
    )
    body = page.content.decode()
    assert page.status_code == 200 and "cannot be masked safely" in body and "1234567" not in body
    assert not Credential.objects.exists()


def test_an_empty_new_secret_keeps_the_current_one(credential, cast, client_for):
    client_for(cast.admin).post(
        f"/admin/credentials/credential/{credential.pk}/change/",
        {"name": "payments-api", "kind": "token", "description": "edited", "new_secret": ""},
    )
    loaded = Credential.objects.get(pk=credential.pk)
    assert (loaded.description, loaded.secret) == ("edited", SECRET)


def test_the_admin_cannot_delete_a_credential_in_use(credential, cast, client_for):
    runbook_create(
        user=cast.owner,
        title="Uses it",
        blocks=[{"key": "run", "kind": "command", "config": {"script": "true", "credentials": [credential.pk]}}],
    )
    page = client_for(cast.admin).post(f"/admin/credentials/credential/{credential.pk}/delete/", {"post": "yes"})
    assert page.status_code == 403
    assert Credential.objects.filter(pk=credential.pk).exists()
