import re

import pytest
from django.urls import reverse

LOGIN = "/accounts/login/"


def errors_of(response) -> str:
    match = re.search(r'<div class="message error" role="alert" id="sign-in-error">(.*?)</div>', response.text, re.S)
    assert match, "the sign-in error box is missing"
    return match.group(1).strip()


def test_the_login_page_renders_a_username_and_password_form(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert 'class="panel auth-card"' in response.text
    assert 'name="username"' in response.text
    assert 'name="password"' in response.text


def test_the_login_page_keeps_the_next_url(client):
    response = client.get(LOGIN, {"next": "/runbooks/7/"})
    assert '<input type="hidden" name="next" value="/runbooks/7/">' in response.text


def test_a_good_login_redirects_to_next(client, cast):
    response = client.post(LOGIN, {"username": "viewer", "password": "viewer", "next": "/runbooks/"})
    assert response.status_code == 302
    assert response.url == "/runbooks/"
    assert client.session["_auth_user_id"] == str(cast.viewer.pk)


def test_a_good_login_without_next_goes_home(client, cast):
    response = client.post(LOGIN, {"username": "viewer", "password": "viewer"})
    assert response.status_code == 302
    assert response.url == "/"


def test_a_login_refuses_an_offsite_next(client, cast):
    response = client.post(LOGIN, {"username": "viewer", "password": "viewer", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response.url == "/"


def test_a_bad_password_shows_an_error_and_signs_nobody_in(client, cast):
    response = client.post(LOGIN, {"username": "viewer", "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in errors_of(response)
    assert "_auth_user_id" not in client.session
    # The username is kept so the user only retypes the password.
    assert 'value="viewer"' in response.text


def test_a_failed_login_does_not_reveal_whether_the_user_exists(client, cast):
    known = client.post(LOGIN, {"username": "viewer", "password": "wrong"})
    unknown = client.post(LOGIN, {"username": "nobody-here", "password": "wrong"})
    assert errors_of(known) == errors_of(unknown)
    assert known.status_code == unknown.status_code == 200


def test_an_inactive_user_gets_the_same_error_as_a_wrong_password(client, cast):
    cast.viewer.is_active = False
    cast.viewer.save()
    inactive = client.post(LOGIN, {"username": "viewer", "password": "viewer"})
    wrong = client.post(LOGIN, {"username": "runner", "password": "wrong"})
    assert errors_of(inactive) == errors_of(wrong)
    assert "_auth_user_id" not in client.session


def test_empty_fields_are_reported_in_place(client, db):
    response = client.post(LOGIN, {"username": "", "password": ""})
    assert response.status_code == 200
    assert response.text.count("This field is required.") == 2


def test_logout_by_post_signs_out_and_says_so(client_for, cast):
    client = client_for(cast.viewer)
    response = client.post(reverse("accounts:logout"), follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert "You are signed out." in response.text
    assert "_auth_user_id" not in client.session


def test_logout_by_get_is_refused_and_keeps_the_session(client_for, cast):
    client = client_for(cast.viewer)
    response = client.get(reverse("accounts:logout"))
    assert response.status_code == 405
    assert client.session["_auth_user_id"] == str(cast.viewer.pk)


@pytest.mark.parametrize("url", ["/accounts/profile/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next={url}"


def test_a_signed_in_user_sees_who_they_are_on_the_login_page(client_for, cast):
    response = client_for(cast.viewer).get(LOGIN, {"next": LOGIN})
    assert response.status_code == 200
    assert "You are signed in as viewer." in response.text
