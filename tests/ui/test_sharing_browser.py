"""The one sharing UI (core/_sharing.html), in real Chromium, on both kinds' pages: grant, change a
role from its row, revoke; every step swaps the access section in place."""

import pytest
from django.urls import reverse

from apps.credentials.selectors import credential_role_of
from apps.credentials.services import credential_create
from apps.runbooks.selectors import runbook_role_of
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(params=["runbook", "credential"])
def shared(request, cast):
    """(share page URL, the partial's id, low role, high role, role_of(user))."""
    if request.param == "runbook":
        runbook = cast.runbook
        return (
            reverse("runbooks:share", args=[runbook.pk]), "access", "viewer", "editor",
            lambda user: runbook_role_of(user, runbook),
        )  # fmt: skip
    credential = credential_create(user=cast.owner, name="pager-token", kind="token", secret="pager-secret-value")
    return (
        reverse("credentials:share", args=[credential.pk]), "credential-access", "user", "owner",
        lambda user: credential_role_of(user, credential),
    )  # fmt: skip


def test_an_owner_grants_changes_and_revokes_in_place(transactional_db, cast, page, shared):
    url, dom_id, low, high, role_of = shared
    sign_in(page, "owner")
    page.goto(url)
    page.select_option("#grant-kind", "user")
    page.fill("#grant-name", "outsider")
    page.select_option("#grant-role", low)
    page.click(f"#{dom_id} .grant-form button[type=submit]")
    page.wait_for_selector(f"#{dom_id} [role=status] >> text=user:outsider is now {low}.")
    assert role_of(cast.outsider) == low

    row = page.locator(f"#{dom_id} tr", has=page.locator("input[name=principal][value='user:outsider']")).first
    row.locator("select[name=role]").select_option(high)
    page.wait_for_selector(f"#{dom_id} [role=status] >> text=user:outsider is now {high}.")
    assert role_of(cast.outsider) == high

    page.once("dialog", lambda dialog: dialog.accept())
    row = page.locator(f"#{dom_id} tr", has=page.locator("input[name=principal][value='user:outsider']")).first
    row.locator("button.btn-danger").click()
    page.wait_for_selector(f"#{dom_id} [role=status] >> text=Revoked every role of user:outsider.")
    assert role_of(cast.outsider) is None
    assert page.locator("header.topbar nav.mainnav").is_visible()
