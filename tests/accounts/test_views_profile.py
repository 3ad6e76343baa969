import re

import pytest
from django.urls import reverse

from apps.accounts.models import ApiToken, hash_token
from apps.accounts.services import api_token_authenticate, api_token_create

PROFILE = "/accounts/profile/"
CREATE = "/accounts/profile/tokens/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def token_value_in(html: str) -> str:
    match = re.search(r'id="new-token-value" class="mono" value="(rbk_[^"]+)"', html)
    assert match, "the new token box is missing"
    return match.group(1)


def revoke_url(token) -> str:
    return reverse("accounts:token_revoke", args=[token.pk])


def test_the_profile_shows_username_email_and_groups(client_for, cast):
    cast.viewer.groups.add(cast.team)
    response = client_for(cast.viewer).get(PROFILE)
    assert response.status_code == 200
    assert "viewer@example.com" in response.text
    assert '<span class="tag">sre</span>' in response.text
    assert 'aria-current="page">viewer</a>' in response.text


def test_the_profile_lists_only_the_users_own_tokens(client_for, cast):
    api_token_create(user=cast.viewer, name="laptop")
    api_token_create(user=cast.runner, name="runner-ci")
    response = client_for(cast.viewer).get(PROFILE)
    assert "laptop" in response.text
    assert "runner-ci" not in response.text


def test_the_token_list_shows_prefix_dates_and_status(client_for, cast):
    token, value = api_token_create(user=cast.viewer, name="laptop")
    api_token_authenticate(value=value)
    response = client_for(cast.viewer).get(PROFILE)
    row = re.search(rf'<tr id="token-{token.pk}">(.*?)</tr>', response.text, re.S).group(1)
    assert f"<code>{token.prefix}…</code>" in row
    assert "never" not in row  # last used is set by the authentication above
    assert "active" in row
    assert value not in response.text


def test_creating_a_token_shows_it_once(client_for, cast):
    client = client_for(cast.viewer)
    response = client.post(CREATE, {"name": "CI pipeline"})
    assert response.status_code == 201
    value = token_value_in(response.text)
    assert "you won't see it again" in response.text
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=cast.viewer, name="CI pipeline")
    assert token.token_hash == hash_token(value)
    assert api_token_authenticate(value=value).user == cast.viewer

    second = client.get(PROFILE)
    assert "CI pipeline" in second.text
    assert value not in second.text
    assert 'id="new-token"' not in second.text


def test_creating_a_token_with_htmx_answers_the_token_section_alone(client_for, cast):
    response = client_for(cast.viewer).post(CREATE, {"name": "laptop"}, **HTMX)
    assert response.status_code == 201
    assert response.text.lstrip().startswith('<section id="api-tokens">')
    assert "<html" not in response.text
    token_value_in(response.text)
    assert 'data-copy-from="new-token-value"' in response.text


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the token a name"),
        ("   ", "Give the token a name"),
        ("x" * 101, "Keep the name to 100 characters or fewer (this one has 101)."),
    ],
)
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_bad_token_names_are_refused_in_place(client_for, cast, name, message, headers):
    response = client_for(cast.viewer).post(CREATE, {"name": name}, **headers)
    assert response.status_code == 400
    errors = re.search(r'<ul class="errorlist" id="token-name-errors" role="alert">(.*?)</ul>', response.text, re.S)
    assert message in errors.group(1)
    assert 'id="new-token"' not in response.text
    assert not ApiToken.objects.filter(user=cast.viewer).exists()


def test_a_name_of_exactly_100_characters_is_accepted(client_for, cast):
    response = client_for(cast.viewer).post(CREATE, {"name": "x" * 100})
    assert response.status_code == 201


def test_a_duplicate_active_name_is_refused(client_for, cast):
    api_token_create(user=cast.viewer, name="laptop")
    response = client_for(cast.viewer).post(CREATE, {"name": " laptop "}, **HTMX)
    assert response.status_code == 400
    assert "You already have an active token named “laptop”" in response.text
    assert ApiToken.objects.filter(user=cast.viewer).count() == 1


def test_the_name_of_a_revoked_token_can_be_reused(client_for, cast):
    client = client_for(cast.viewer)
    old, _ = api_token_create(user=cast.viewer, name="laptop")
    client.post(revoke_url(old))
    response = client.post(CREATE, {"name": "laptop"})
    assert response.status_code == 201


def test_another_user_may_use_the_same_name(client_for, cast):
    api_token_create(user=cast.runner, name="laptop")
    response = client_for(cast.viewer).post(CREATE, {"name": "laptop"})
    assert response.status_code == 201


def test_creating_a_token_needs_post(client_for, cast):
    response = client_for(cast.viewer).get(CREATE)
    assert response.status_code == 405


def test_revoking_asks_for_confirmation_without_js(client_for, cast):
    token, _ = api_token_create(user=cast.viewer, name="laptop")
    response = client_for(cast.viewer).get(revoke_url(token))
    assert response.status_code == 200
    assert f'<form method="post" action="{revoke_url(token)}">' in response.text
    token.refresh_from_db()
    assert token.is_active


def test_revoking_by_the_plain_form_redirects_with_a_message(client_for, cast):
    token, value = api_token_create(user=cast.viewer, name="laptop")
    response = client_for(cast.viewer).post(revoke_url(token), follow=True)
    assert response.redirect_chain == [(PROFILE, 302)]
    assert "The token “laptop” is revoked" in response.text
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_token_authenticate(value=value) is None


def test_revoking_with_htmx_answers_the_updated_section(client_for, cast):
    token, value = api_token_create(user=cast.viewer, name="laptop")
    response = client_for(cast.viewer).post(revoke_url(token), **HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="api-tokens">')
    row = re.search(rf'<tr id="token-{token.pk}">(.*?)</tr>', response.text, re.S).group(1)
    assert "revoked" in row
    assert "hx-confirm" not in row
    assert api_token_authenticate(value=value) is None


def test_the_revoke_button_confirms_before_posting(client_for, cast):
    token, _ = api_token_create(user=cast.viewer, name="laptop")
    response = client_for(cast.viewer).get(PROFILE)
    row = re.search(rf'<tr id="token-{token.pk}">(.*?)</tr>', response.text, re.S).group(1)
    assert f'hx-post="{revoke_url(token)}"' in row
    assert 'hx-confirm="Revoke the token “laptop”?' in row
    assert f'href="{revoke_url(token)}"' in row


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_users_token_is_a_404(client_for, cast, method):
    token, value = api_token_create(user=cast.runner, name="runner-ci")
    response = getattr(client_for(cast.viewer), method)(revoke_url(token))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.is_active
    assert api_token_authenticate(value=value) is not None


def test_an_unknown_token_id_is_a_404(client_for, cast):
    response = client_for(cast.viewer).post(reverse("accounts:token_revoke", args=[999999]))
    assert response.status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("url", [PROFILE, CREATE, "/accounts/profile/tokens/1/revoke/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, db, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")
    assert not ApiToken.objects.exists()
