"""The fixed cast and the switches that turn "skip" into "fail" in CI.

Cast (healthchecks' alice/bob/charlie pattern): on one runbook, `owner`, `editor`, `runner` and
`viewer` hold those roles, `outsider` holds none, `staff` is is_staff without any role, `admin` is
a superuser. Passwords are the username.
"""

import os
import shutil
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

ROLES = ("owner", "editor", "runner", "viewer")
CAST = (*ROLES, "outsider", "staff", "admin")


def required(name: str) -> bool:
    return os.environ.get(name, "") == "1"


@pytest.fixture
def cast(db):
    from apps.runbooks.services.access import runbook_grant
    from apps.runbooks.services.runbooks import runbook_create

    User = get_user_model()
    users = {}
    for name in CAST:
        users[name] = User.objects.create_user(
            username=name,
            password=name,
            email=f"{name}@example.com",
            is_staff=name in ("staff", "admin"),
            is_superuser=name == "admin",
        )
    runbook = runbook_create(
        user=users["owner"],
        title="Restart the payments API",
        description="When **p95 latency** alarms fire.",
        tags=["payments", "api"],
        blocks=[
            {"key": "intro", "kind": "instruction", "config": {"markdown": "Check the dashboard first."}},
            {"key": "restart", "kind": "command", "config": {"script": "echo restarting"}},
        ],
    )
    for role in ("editor", "runner", "viewer"):
        runbook_grant(runbook=runbook, actor=users["owner"], principal=users[role], role=role)
    team = Group.objects.create(name="sre")
    return SimpleNamespace(runbook=runbook, team=team, **users)


@pytest.fixture
def client_for(client):
    """client_for(user) → a Django test client signed in as that user (None = anonymous)."""
    from django.test import Client

    def make(user):
        new_client = Client()
        if user is not None:
            new_client.force_login(user)
        return new_client

    return make


@pytest.fixture
def api_for():
    """api_for(user) → a DRF APIClient authenticated with a real Bearer token of that user."""
    from apps.accounts.services import api_token_create

    def make(user):
        api = APIClient()
        if user is not None:
            _, value = api_token_create(user=user, name=f"test-{user.pk}-{os.urandom(4).hex()}")
            api.credentials(HTTP_AUTHORIZATION=f"Bearer {value}")
        return api

    return make


@pytest.fixture(scope="session")
def docker_engine():
    """The Docker engine, or a skip (a failure when RUNBOOKS_REQUIRE_DOCKER=1)."""
    import docker

    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as error:
        message = f"Docker engine not reachable: {error}"
        if required("RUNBOOKS_REQUIRE_DOCKER"):
            pytest.fail(message)
        pytest.skip(message)
    yield client
    client.close()


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, or a skip (a failure when RUNBOOKS_REQUIRE_BROWSER=1)."""
    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(executable):
        message = f"Chromium not found at {executable}"
        if required("RUNBOOKS_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; the ORM calls tests make around it
    # are still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15000)
    new_page = context.new_page()
    yield new_page
    context.close()


def sign_in(page, username: str, password: str | None = None) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or username)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.fixture(autouse=True, scope="session")
def _database_vendor_is_required(django_db_setup, django_db_blocker):
    """In CI the suite must run on PostgreSQL, never silently on SQLite."""
    if required("RUNBOOKS_REQUIRE_POSTGRES"):
        from django.db import connection

        with django_db_blocker.unblock():
            assert connection.vendor == "postgresql", (
                f"RUNBOOKS_REQUIRE_POSTGRES=1 but the database is {connection.vendor}"
            )
