"""Issue 12 #6: 30 wrong passwords in 14 s, then the right one signed in; /admin/login/ alike.

Sign-in is now rate-limited by django-axes: AXES_FAILURE_LIMIT failures for one username (from any
address) or from one address (for any usernames) lock sign-in for the cool-off, with our 429 page,
an audit event, and staff unlocking in the admin or with `axes_reset_username`.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from apps.audit.models import AuditEvent

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
LOCKED = "Too many failed sign-ins for this account or address; try again in 15 minutes or ask staff to unlock it."


def hammer(client: Client, url: str, username: str, times: int, **extra) -> list[int]:
    return [
        client.post(url, {"username": username, "password": f"guess-{attempt}"}, **extra).status_code
        for attempt in range(times)
    ]


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def assert_lockout_page(response) -> None:
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    # Our styled page (base.html), not axes' bare text.
    assert 'class="topbar"' in response.content.decode()
    assert response["Retry-After"] == str(15 * 60)


def test_it_refuses_the_right_password_after_thirty_wrong_ones_as_reported(cast, client):
    statuses = hammer(client, LOGIN, "viewer", 30)
    assert statuses[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(statuses[settings.AXES_FAILURE_LIMIT - 1 :]) == {429}

    response = client.post(LOGIN, {"username": "viewer", "password": "viewer"})
    assert_lockout_page(response)
    assert not signed_in(client)
    assert "guess-" not in response.content.decode()


def test_it_refuses_the_admin_sign_in_alike(cast, client):
    hammer(client, ADMIN_LOGIN, "staff", 30)
    response = client.post(ADMIN_LOGIN, {"username": "staff", "password": "staff", "next": "/admin/"})
    assert_lockout_page(response)
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302


def test_it_locks_a_username_whatever_address_the_guesses_come_from(cast, client):
    for number in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": "viewer", "password": "wrong"}, REMOTE_ADDR=f"10.0.0.{number + 1}")
    fresh = Client(REMOTE_ADDR="10.9.9.9")
    assert_lockout_page(fresh.post(LOGIN, {"username": "viewer", "password": "viewer"}))
    assert not signed_in(fresh)
    # Another account from that address is not locked.
    assert fresh.post(LOGIN, {"username": "runner", "password": "runner"}).status_code == 302


def test_it_locks_an_address_that_sprays_many_usernames(cast):
    sprayer = Client(REMOTE_ADDR="10.1.1.1")
    for name in ("owner", "editor", "runner", "nobody", "staff"):
        sprayer.post(LOGIN, {"username": name, "password": "Winter2026!"})
    assert_lockout_page(sprayer.post(LOGIN, {"username": "viewer", "password": "viewer"}))
    assert not signed_in(sprayer)
    elsewhere = Client(REMOTE_ADDR="10.2.2.2")
    assert elsewhere.post(LOGIN, {"username": "viewer", "password": "viewer"}).status_code == 302


def test_it_records_the_lockout_once_on_the_audit_trail_and_never_the_password(cast, client):
    hammer(client, LOGIN, "viewer", settings.AXES_FAILURE_LIMIT + 3)
    events = AuditEvent.objects.filter(action="auth.locked_out")
    assert events.count() == 1
    event = events.get()
    assert event.actor is None
    assert event.detail["username"] == "viewer"
    assert event.detail["ip"] == "127.0.0.1"
    assert event.detail["failures"] == settings.AXES_FAILURE_LIMIT
    assert "guess-" not in str(list(AuditEvent.objects.values_list("detail", flat=True)))


def test_it_never_stores_the_guessed_passwords_in_the_attempts_staff_can_read(cast, client):
    hammer(client, LOGIN, "viewer", 3)
    stored = " ".join(AccessAttempt.objects.values_list("post_data", flat=True))
    assert "guess-" not in stored
    assert "csrfmiddlewaretoken=" not in stored or "csrfmiddlewaretoken=****" in stored


def test_staff_unlock_a_username_in_the_admin(cast, client, client_for):
    hammer(client, LOGIN, "viewer", settings.AXES_FAILURE_LIMIT)
    admin = client_for(cast.admin)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "viewer" in listing.content.decode()
    ids = [str(pk) for pk in AccessAttempt.objects.filter(username="viewer").values_list("pk", flat=True)]
    answer = admin.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert answer.status_code == 302
    assert not AccessAttempt.objects.filter(username="viewer").exists()
    assert client.post(LOGIN, {"username": "viewer", "password": "viewer"}).status_code == 302


def test_staff_without_the_axes_permission_cannot_unlock(cast, client, client_for):
    hammer(client, LOGIN, "viewer", settings.AXES_FAILURE_LIMIT)
    assert client_for(cast.staff).get("/admin/axes/accessattempt/").status_code == 403


def test_an_operator_unlocks_a_username_with_the_management_command(cast, client):
    hammer(client, LOGIN, "viewer", settings.AXES_FAILURE_LIMIT)
    call_command("axes_reset_username", "viewer")
    assert client.post(LOGIN, {"username": "viewer", "password": "viewer"}).status_code == 302


def test_the_lock_ends_after_the_cool_off(cast, client):
    hammer(client, LOGIN, "viewer", settings.AXES_FAILURE_LIMIT)
    assert client.post(LOGIN, {"username": "viewer", "password": "viewer"}).status_code == 429
    # Moving the last attempt back stands in for waiting 15 minutes.
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
    assert client.post(LOGIN, {"username": "viewer", "password": "viewer"}).status_code == 302


@pytest.mark.parametrize("failures", [1, 4])
def test_a_few_mistakes_do_not_lock_anyone_out(cast, client, failures):
    hammer(client, LOGIN, "viewer", failures)
    assert client.post(LOGIN, {"username": "viewer", "password": "viewer"}).status_code == 302
