"""Credential pages: visible only to holders of a role, write-only secrets, share page for owners."""

import pytest

from apps.credentials.models import Credential
from apps.credentials.services import credential_grant, credential_update
from apps.runbooks.services.runbooks import runbook_create
from tests.credentials.conftest import SECRET


@pytest.fixture
def shared(credential, cast):
    credential_grant(credential=credential, actor=cast.owner, principal=cast.runner, role="user")
    return credential


def test_the_list_shows_only_visible_credentials_with_their_state(shared, cast, client_for):
    page = client_for(cast.runner).get("/credentials/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "payments-api" in body and "set, last changed" in body and ">user<" in body
    assert SECRET not in body
    assert "payments-api" not in client_for(cast.outsider).get("/credentials/").content.decode()


def test_anonymous_users_are_sent_to_sign_in(credential, client_for):
    page = client_for(None).get(f"/credentials/{credential.pk}/")
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]


# The detail page takes no POST at all: 405, like every page without a write.
@pytest.mark.parametrize(("suffix", "post_status"), [("", 405), ("edit/", 404), ("delete/", 404), ("share/", 404)])
def test_outsiders_get_404_on_every_credential_page(credential, cast, client_for, suffix, post_status):
    client = client_for(cast.outsider)
    missing = Credential.objects.order_by("-pk").first().pk + 1000
    assert client.get(f"/credentials/{credential.pk}/{suffix}").status_code == 404
    # The same answer as for a credential that does not exist: nothing tells an outsider it does.
    assert client.post(f"/credentials/{credential.pk}/{suffix}").status_code == post_status
    assert client.post(f"/credentials/{missing}/{suffix}").status_code == post_status


@pytest.mark.parametrize("suffix", ["edit/", "delete/", "share/"])
def test_a_user_gets_403_on_owner_pages(shared, cast, client_for, suffix):
    assert client_for(cast.runner).get(f"/credentials/{shared.pk}/{suffix}").status_code == 403
    assert (
        client_for(cast.runner).post(f"/credentials/{shared.pk}/{suffix}", {"principal": "user:runner"}).status_code
        == 403
    )


def test_create_saves_and_makes_the_creator_owner(cast, client_for):
    page = client_for(cast.editor).post(
        "/credentials/new/",
        {"name": "grafana", "kind": "header", "header_name": "X-Api-Key", "secret": "graf-key-123456"},
    )
    credential = Credential.objects.get(name="grafana")
    assert page.status_code == 302 and page["Location"] == f"/credentials/{credential.pk}/"
    assert credential.secret == "graf-key-123456"
    assert cast.editor.has_perm("credentials.share_credential", credential)


def test_create_with_a_short_secret_explains_and_never_echoes_it(cast, client_for):
    page = client_for(cast.editor).post("/credentials/new/", {"name": "tiny", "kind": "token", "secret": "abc1234"})
    body = page.content.decode()
    assert page.status_code == 200
    assert "cannot be masked safely" in body
    assert "abc1234" not in body
    assert not Credential.objects.exists()


def test_a_rejected_form_never_sends_the_secret_back(credential, cast, client_for):
    page = client_for(cast.owner).post(
        "/credentials/new/", {"name": "payments-api", "kind": "token", "secret": "sentinel-value-9876"}
    )
    body = page.content.decode()
    assert "already exists" in body
    assert "sentinel-value-9876" not in body


def test_create_refuses_an_unknown_kind(cast, client_for):
    page = client_for(cast.editor).post(
        "/credentials/new/", {"name": "x1", "kind": "password", "secret": "long-secret-1"}
    )
    assert "Select a valid choice" in page.content.decode()
    assert not Credential.objects.exists()


def test_edit_never_prefills_the_secret_and_empty_keeps_it(credential, cast, client_for):
    client = client_for(cast.owner)
    form = client.get(f"/credentials/{credential.pk}/edit/").content.decode()
    assert SECRET not in form and "gAAAAA" not in form
    assert 'name="secret"' in form and "Leave empty to keep the current secret" in form
    page = client.post(
        f"/credentials/{credential.pk}/edit/",
        {"name": "payments-api", "kind": "token", "description": "v2", "secret": ""},
    )
    assert page.status_code == 302
    loaded = Credential.objects.get(pk=credential.pk)
    assert (loaded.description, loaded.secret) == ("v2", SECRET)


def test_edit_replaces_the_secret(credential, cast, client_for):
    client_for(cast.owner).post(
        f"/credentials/{credential.pk}/edit/", {"name": "payments-api", "kind": "token", "secret": "replaced-secret-1"}
    )
    assert Credential.objects.get(pk=credential.pk).secret == "replaced-secret-1"


def test_delete_asks_first_then_deletes(credential, cast, client_for):
    client = client_for(cast.owner)
    confirm = client.get(f"/credentials/{credential.pk}/delete/")
    assert "Delete credential “payments-api”?" in confirm.content.decode()
    assert Credential.objects.exists()
    assert client.post(f"/credentials/{credential.pk}/delete/").status_code == 302
    assert not Credential.objects.exists()


def test_delete_is_refused_with_the_runbooks_that_use_it(credential, cast, client_for):
    runbook_create(
        user=cast.owner,
        title="Rotate certificates",
        blocks=[{"key": "run", "kind": "command", "config": {"script": "true", "credentials": [credential.pk]}}],
    )
    client = client_for(cast.owner)
    assert "Rotate certificates" in client.get(f"/credentials/{credential.pk}/delete/").content.decode()
    page = client.post(f"/credentials/{credential.pk}/delete/")
    assert page.status_code == 409
    assert "is used by the blocks of 1 runbook." in page.content.decode()
    assert "Rotate certificates" in page.content.decode()
    assert Credential.objects.exists()


def test_share_grants_and_revokes_with_htmx_partials(credential, cast, client_for):
    client = client_for(cast.owner)
    page = client.post(
        f"/credentials/{credential.pk}/share/", {"principal": "group:sre", "role": "user"}, HTTP_HX_REQUEST="true"
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert body.startswith('<div id="credential-access">') and "group:sre" in body
    assert "<html" not in body
    client.post(f"/credentials/{credential.pk}/share/", {"principal": "group:sre", "role": ""}, HTTP_HX_REQUEST="true")
    assert "group:sre" not in client.get(f"/credentials/{credential.pk}/share/").content.decode()


def test_share_explains_bad_input(credential, cast, client_for):
    client = client_for(cast.owner)
    page = client.post(
        f"/credentials/{credential.pk}/share/", {"principal": "user:ghost", "role": "user"}, HTTP_HX_REQUEST="true"
    )
    assert page.status_code == 400 and "There is no user named “ghost”." in page.content.decode()
    page = client.post(f"/credentials/{credential.pk}/share/", {"principal": "user:owner", "role": ""})
    assert "A credential must keep at least one owner." in page.content.decode()
    assert cast.owner.has_perm("credentials.share_credential", Credential.objects.get())


def test_share_without_js_redirects_back(credential, cast, client_for):
    page = client_for(cast.owner).post(
        f"/credentials/{credential.pk}/share/", {"principal": "user:runner", "role": "owner"}
    )
    assert page.status_code == 302
    assert cast.runner.has_perm("credentials.share_credential", credential)


def test_the_detail_page_never_shows_the_secret_even_after_a_change(credential, cast, client_for):
    credential_update(credential=credential, user=cast.owner, secret="the-second-secret")
    body = client_for(cast.owner).get(f"/credentials/{credential.pk}/").content.decode()
    assert "set, last changed" in body
    assert SECRET not in body and "the-second-secret" not in body and "gAAAAA" not in body
