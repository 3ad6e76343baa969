"""Sign-in and the token section in real Chromium: the HTMX swap and the confirm dialog."""

import pytest

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_authenticate, api_token_create
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser


def test_a_wrong_password_keeps_the_user_on_the_sign_in_page(transactional_db, cast, page):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "viewer")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "correct username and password" in page.inner_text("#sign-in-error")


def test_a_token_is_created_in_place_shown_once_and_revoked_after_confirming(transactional_db, cast, page):
    sign_in(page, "viewer")
    page.goto("/accounts/profile/")
    page.evaluate("window.notReloaded = true")
    page.fill("#id_name", "laptop")
    page.click("#token-create-form button[type=submit]")
    value = page.input_value("#new-token-value")
    # The section was swapped by HTMX: the page itself never reloaded.
    assert page.evaluate("window.notReloaded") is True
    assert api_token_authenticate(value=value).user == cast.viewer

    token = ApiToken.objects.get(user=cast.viewer)
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.click(f"#token-{token.pk} a")
    page.wait_for_selector(f"#token-{token.pk} >> text=revoked")
    assert "Revoke the token “laptop”?" in dialogs[0]
    assert page.query_selector("#new-token-value") is None
    assert api_token_authenticate(value=value) is None

    page.reload()
    assert value not in page.content()


def test_dismissing_the_confirm_dialog_keeps_the_token(transactional_db, cast, page):
    token, value = api_token_create(user=cast.viewer, name="ci")
    sign_in(page, "viewer")
    page.goto("/accounts/profile/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click(f"#token-{token.pk} a")
    page.wait_for_timeout(300)
    assert page.url.endswith("/accounts/profile/")
    assert api_token_authenticate(value=value) is not None
