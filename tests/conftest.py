"""The fixed cast (tests/support/factories.py) and the switches that turn "skip" into "fail" in CI."""

import os
import shutil

import docker
import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from tests.support.browser import CHROMIUM_ARGS
from tests.support.factories import build_cast
from tests.support.switches import required

# The execution fixtures (environment, make_runbook) serve every area, not only tests/executions.
pytest_plugins = ["tests.support.executions"]


@pytest.fixture
def cast(db):
    return build_cast()


@pytest.fixture
def client_for(client):
    """client_for(user) → a Django test client signed in as that user (None = anonymous)."""

    def make(user):
        new_client = Client()
        if user is not None:
            new_client.force_login(user)
        return new_client

    return make


@pytest.fixture
def api_for():
    """api_for(user) → a DRF APIClient authenticated with a real Bearer token of that user."""

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
    # Playwright is heavy and only browser tests need it: imported when the first one asks for a browser.
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


@pytest.fixture(autouse=True, scope="session")
def _database_vendor_is_required(django_db_setup, django_db_blocker):
    """In CI the suite must run on PostgreSQL, never silently on SQLite."""
    if required("RUNBOOKS_REQUIRE_POSTGRES"):
        with django_db_blocker.unblock():
            assert connection.vendor == "postgresql", (
                f"RUNBOOKS_REQUIRE_POSTGRES=1 but the database is {connection.vendor}"
            )
