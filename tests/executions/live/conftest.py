"""The live run page in real Chromium (JavaScript on) against a real daphne, a worker, Redis and Docker.

Each test gets a fresh daphne and worker (on PostgreSQL every test's flush recreates the content types
under new ids, which long-lived processes would still hold in their caches). People sign in through
the login page, each in a browser context of their own; the test process only creates the accounts
and the runbook through `manage.py shell`.
"""

import json
import os
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings

from tests.support.live_stack import BASE_DIR, Stack

SHOTS = BASE_DIR / "test-artifacts" / "live"
# A Redis database of these tests alone, one per xdist worker (gw0 → 9, gw1 → 8): the stack flushes it
# before each test, and on the shared test database that flush (and the in-process tests that empty the
# `executions` queue) would take the other worker's jobs, leaving a run queued and its page empty.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def live_redis_url() -> str:
    """The test Redis server (settings.REDIS_URL), database 9 - <xdist worker number>."""
    if override := os.environ.get("RUNBOOKS_TEST_LIVE_REDIS_URL"):
        return override
    return urlunsplit(urlsplit(settings.REDIS_URL)._replace(path=f"/{9 - _WORKER}"))


EXTRA_SETTINGS = 'RUNBOOKS_HTTP_ALLOWLIST = ["127.0.0.1"]  # the api_call block targets this test\'s own server'

SETUP = """
import json
from django.contrib.auth import get_user_model
from apps.environments.models import ExecutionEnvironment
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.runbooks import runbook_create
from apps.runbooks.versions import runbook_publish

tag = {tag!r}
User = get_user_model()
users = {{name: User.objects.create_user(username=f"{{name}}-{{tag}}", password=f"{{name}}-{{tag}}-pw")
          for name in ("starter", "second", "viewer")}}
environment = ExecutionEnvironment.objects.create(
    name=f"busybox-{{tag}}", image="runbooks-test-busybox:latest", memory_mb=64, timeout_seconds=120)
runbook = runbook_create(user=users["starter"], title=f"Live {{tag}}", environment=environment.pk,
                         parameters={parameters!r}, blocks={blocks!r})
runbook_grant(runbook=runbook, actor=users["starter"], principal=users["second"], role="runner")
runbook_grant(runbook=runbook, actor=users["starter"], principal=users["viewer"], role="viewer")
runbook_publish(runbook=runbook, user=users["starter"], message="v1")
print("SETUP" + json.dumps({{"runbook": runbook.pk, "users": {{k: v.username for k, v in users.items()}}}}))
"""


class LiveStack(Stack):
    def __init__(self, tmp_path: Path, redis_url: str):
        super().__init__(tmp_path, name="live", redis_url=redis_url, extra_settings=EXTRA_SETTINGS)

    def setup(self, blocks: list[dict], parameters: list[dict] = ()) -> dict:
        tag = uuid.uuid4().hex[:8]
        out = self.manage("shell", "-c", SETUP.format(tag=tag, blocks=blocks, parameters=list(parameters)))
        return json.loads(out.split("SETUP", 1)[1])


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, django_db_setup, django_db_blocker) -> LiveStack:
    with django_db_blocker.unblock():
        return LiveStack(tmp_path_factory.mktemp("live"), live_redis_url())


@pytest.fixture
def stack(prepared, docker_engine, browser):
    try:
        redis.Redis.from_url(prepared.env["REDIS_URL"], socket_connect_timeout=2).flushdb()
    except redis.RedisError as error:
        pytest.fail(f"Redis not reachable: {error}")
    prepared.use_new_port()
    prepared.start()
    yield prepared
    prepared.stop()


@pytest.fixture
def open_page(browser, stack):
    """open_page(username) → a signed-in page in a browser context of its own."""
    contexts = []

    def make(username: str):
        context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30000)
        contexts.append(context)
        page = context.new_page()
        # Count socket openings from the first script on: a reconnect shows as a second one.
        page.add_init_script(
            "window.__wsOpens = 0; document.addEventListener('htmx:wsOpen', () => window.__wsOpens++);"
        )
        page.goto("/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", f"{username}-pw")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    yield make
    for context in contexts:
        context.close()


def start_run(page, runbook_id: int) -> int:
    """Press "Run runbook" on the runbook page: the run's page opens before the worker starts it."""
    page.goto(f"/runbooks/{runbook_id}/")
    page.click("#run-form button[name=run-block]")
    page.wait_for_url(re.compile(r"/executions/\d+/$"))
    page.wait_for_selector("#live-socket", state="attached")
    return int(re.search(r"/executions/(\d+)/", page.url).group(1))


def open_run(page, execution_id: int):
    page.goto(f"/executions/{execution_id}/")
    return page


def wait_for_output(page, text: str, timeout: float = 20000) -> None:
    """Some step's output pane shows `text` (a live frame or the replay put it there)."""
    page.wait_for_function(
        "text => [...document.querySelectorAll(\"pre[id^='output-']\")].some(pane => pane.textContent.includes(text))",
        arg=text,
        timeout=timeout,
    )


def region(page, execution_id: int):
    return page.locator(f"#execution-{execution_id}")


def visible_buttons(page, execution_id: int) -> list[str]:
    """The labels of every button a person can see in the run's region, in page order."""
    return [text.strip() for text in page.locator(f"#execution-{execution_id} button:visible").all_inner_texts()]


def assert_page_whole(page, execution_id: int, step_keys: list[str], outputs: dict[str, str] | None = None) -> None:
    """The header, every step and all output so far are on the page (not a collapsed fragment)."""
    head = page.locator(f"#execution-{execution_id} .toolbar h1")
    assert head.is_visible(), f"the run's header is gone: {page.inner_html('main')[:2000]}"
    assert head.inner_text().startswith(f"Run #{execution_id}")
    assert page.locator("#execution-status").is_visible()
    assert page.locator(f"#execution-{execution_id} dl.meta").is_visible()
    shown = page.locator(f"#steps-{execution_id} > li.step code.muted").all_inner_texts()
    assert shown == step_keys, f"steps shown {shown}, expected {step_keys}"
    for key, text in (outputs or {}).items():
        step = page.locator(f"#steps-{execution_id} > li.step", has=page.locator(f"code.muted:text-is('{key}')"))
        pane = step.locator("pre.output[id^='output-']")
        assert text in pane.text_content(), f"output of {key} lost: {pane.text_content()!r}"


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
