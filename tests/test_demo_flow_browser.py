"""Issue 8's demo flow in real Chromium, against a real daphne (HTTP + WebSocket), a real worker (RQ: image
builds and runs), Redis and the Docker engine; PostgreSQL when the suite runs on it.

pytest-django's live_server speaks WSGI only, so the socket that carries live output would not be served:
this module starts `daphne` and `manage.py worker` as subprocesses on the test database (PostgreSQL) or on
a file SQLite database of their own. Everything the people do goes through the pages; the test process
only creates the three accounts and serves the HTTP target of the API call block. A screenshot of each
step lands in test-artifacts/flow/.
"""

import json
import os
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis

from tests.support.holds import hold, release
from tests.support.live_stack import BASE_DIR, Stack

SHOTS = BASE_DIR / "test-artifacts" / "flow"
# A Redis database of this test alone (it is flushed first); another for a second checkout on the same server.
REDIS_DB_URL = os.environ.get("RUNBOOKS_TEST_FLOW_REDIS_URL", "redis://127.0.0.1:6379/10")
SECRET = f"flow-secret-{uuid.uuid4().hex}"
pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.django_db(transaction=True)]

EXTRA_SETTINGS = "RUNBOOKS_HTTP_ALLOWLIST = [\"127.0.0.1\"]  # the API call block's target is this test's own server"

ACCOUNTS = """
from django.contrib.auth import get_user_model
User = get_user_model()
User.objects.create_user(username="ana-{tag}", password="ana-pw", email="ana@example.com")
User.objects.create_user(username="sam-{tag}", password="sam-pw", email="sam@example.com", is_staff=True)
User.objects.create_user(username="vic-{tag}", password="vic-pw", email="vic@example.com")
"""


class StatusServer:
    """The API call block's target: answers JSON and remembers the Authorization header of each request."""

    def __init__(self):
        seen = self.authorizations = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.headers.get("Authorization"))
                body = json.dumps({"status": "healthy", "region": "eu-west-1"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/health"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stack(tmp_path, docker_engine, browser, django_db_blocker):
    try:
        redis.Redis.from_url(REDIS_DB_URL, socket_connect_timeout=2).flushdb()
    except redis.RedisError as error:
        pytest.fail(f"Redis not reachable: {error}")
    with django_db_blocker.unblock():
        running = Stack(tmp_path, name="flow", redis_url=REDIS_DB_URL, extra_settings=EXTRA_SETTINGS)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def status_server():
    server = StatusServer()
    yield server
    server.close()


class People:
    """One browser context per person, each signed in through the login page."""

    def __init__(self, browser, url: str, tag: str):
        self.browser, self.url, self.tag = browser, url, tag
        self.contexts = []
        self.shot_number = 0

    def sign_in(self, name: str, *, shoot: bool = False):
        context = self.browser.new_context(base_url=self.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20000)
        self.contexts.append(context)
        page = context.new_page()
        page.add_init_script(
            "window.__wsOpens = 0; document.addEventListener('htmx:wsOpen', () => window.__wsOpens++);"
        )
        page.goto("/accounts/login/")
        page.fill("input[name=username]", f"{name}-{self.tag}")
        page.fill("input[name=password]", f"{name}-pw")
        if shoot:
            self.shoot(page, "sign-in")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    def shoot(self, page, name: str) -> None:
        self.shot_number += 1
        page.screenshot(path=str(SHOTS / f"{self.shot_number:02d}-{name}.png"), full_page=True)

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def people(browser, stack):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    tag = uuid.uuid4().hex[:6]
    stack.manage("shell", "-c", ACCOUNTS.format(tag=tag))
    crowd = People(browser, stack.url, tag)
    yield crowd
    crowd.close()


def add_block(page, kind: str, key: str, fields: dict) -> None:
    page.click(f"form.add-block button[value={kind}]")
    form = page.locator("li[id^=block-new-] form").last
    form.locator("input[name$=-key]").fill(key)
    for name, value in fields.items():
        field = form.locator(f"[name$=-{name}]")
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_selector(f"li[data-key={key}]")


def number_in(url: str, pattern: str) -> int:
    return int(re.search(pattern, url).group(1))


def watch_until_final(page, timeout: float = 60) -> list[str]:
    """The run's output text each time it changes, until the execution shows a final state."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        final = page.eval_on_selector("#execution-status", "element => element.dataset.final === '1'")
        text = output_text(page)
        if not seen or text != seen[-1]:
            seen.append(text)
        if final:
            return seen
        # Polling the DOM: the socket's swaps raise no event a test could await per line.
        page.wait_for_timeout(50)
    pytest.fail(f"the run never reached a final state; last output: {seen[-1:]!r}")


def run_from_runbook_page(page, runbook_id: int, button: str) -> int:
    page.goto(f"/runbooks/{runbook_id}/")
    page.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(r"/executions/\d+/$"))
    page.wait_for_selector("#live-socket", state="attached")
    page.evaluate("window.__samePage = true")
    return number_in(page.url, r"/executions/(\d+)/")


# Each tick is held until the test has seen it on the page (tests.support.holds): the output grows
# tick by tick on the open page however loaded the machine (a `sleep 0.25` between ticks was over
# before a slow page had loaded, and the whole output came at once by replay).
TICKS = f'cat /etc/flow-built; for i in 1 2 3 4 5 6 7 8; do echo "tick $i"; {hold("next-$i")}; done'
TICK_NAMES = tuple(f"next-{number}" for number in range(1, 9))


def output_text(page) -> str:
    return page.eval_on_selector_all("pre[id^='output-']", "pres => pres.map(pre => pre.textContent).join('')")


def wait_for_tick(page, number: int) -> None:
    page.wait_for_function(
        "n => [...document.querySelectorAll(\"pre[id^='output-']\")].some(pre => pre.textContent.includes(`tick ${n}`))",
        arg=number,
    )


def watch_tick_by_tick(page, stack, execution_id: int) -> list[str]:
    """The run's output after each tick of the held probe (each released once the page shows it),
    then once the execution shows a final state."""
    seen = []
    for number, name in enumerate(TICK_NAMES, start=1):
        wait_for_tick(page, number)
        assert page.locator("#execution-status[data-final='1']").count() == 0, f"final at tick {number}"
        seen.append(output_text(page))
        release(stack, execution_id=execution_id, block_key="probe", names=(name,))
    page.locator("#execution-status[data-final='1']").wait_for()
    return [*seen, output_text(page)]


def test_the_demo_flow_from_sign_in_to_rollback_with_a_viewer_who_cannot_run(stack, people, status_server):
    tag = people.tag

    # A staff member builds a custom environment from an inline Dockerfile; the worker builds it.
    staff = people.sign_in("sam", shoot=True)
    staff.goto("/environments/new")
    staff.fill("input[name=name]", f"flow-tools-{tag}")
    staff.fill(
        "textarea[name=dockerfile]",
        "FROM runbooks-test-busybox:latest\nRUN echo 'built by the platform' > /etc/flow-built\n",
    )
    staff.fill("input[name=memory_mb]", "64")
    staff.fill("input[name=timeout_seconds]", "120")
    people.shoot(staff, "environment-form")
    staff.click("#environment-form button[type=submit]")
    staff.wait_for_url(re.compile(r"/environments/\d+/$"))
    staff.wait_for_selector(".build .badge.build-ready", timeout=90000)
    assert "Image " in staff.inner_text(".build")
    people.shoot(staff, "environment-ready")

    # The author stores a credential; the page never shows it back.
    author = people.sign_in("ana")
    author.goto("/credentials/new/")
    author.fill("input[name=name]", "status-token")
    author.select_option("select[name=kind]", "token")
    author.fill("input[name=secret]", SECRET)
    author.fill("textarea[name=description]", "Read-only token of the status API.")
    author.click("#credential-form button[type=submit]")
    author.wait_for_url(re.compile(r"/credentials/\d+/$"))
    credential_id = number_in(author.url, r"/credentials/(\d+)/")
    # The id blocks refer to is on the page: nobody has to read it out of the address bar.
    assert author.inner_text("dt:has-text('Id for blocks') + dd") == str(credential_id)
    assert SECRET not in author.content()
    people.shoot(author, "credential-saved")

    # A runbook with tags, Markdown, the custom environment and three blocks.
    author.goto("/runbooks/new")
    author.fill("input[name=title]", "Check the status API")
    author.fill("textarea[name=description]", "Use when the **status page** is red.\n\n- look\n- probe\n- ask")
    author.wait_for_selector("#description-preview strong")
    author.fill("input[name=tags]", "Status, API")
    author.select_option("select[name=environment]", label=f"flow-tools-{tag}")
    people.shoot(author, "runbook-form")
    author.click("button:has-text('Create runbook')")
    author.wait_for_url(re.compile(r"/runbooks/\d+/$"))
    runbook_id = number_in(author.url, r"/runbooks/(\d+)/")
    add_block(author, "instruction", "look", {"markdown": "Open the **status dashboard** and note the time."})
    add_block(author, "command", "probe", {"script": TICKS})
    add_block(author, "api_call", "ask", {"url": status_server.url, "credential": "status-token (token)"})
    assert not author.locator(".blocks-empty").is_visible(), "no empty state beside the blocks"
    body = author.inner_text("main")
    assert "status dashboard" in body and "tick $i" in body and status_server.url in body
    assert "status" in body and "api" in body
    people.shoot(author, "runbook-with-blocks")

    # Publish v1.
    author.goto(f"/runbooks/{runbook_id}/versions/")
    author.fill("#id_message", "First version")
    author.click("#publish-form button[type=submit]")
    author.wait_for_selector("#version-1")
    people.shoot(author, "published-v1")

    # One block, watched live: the output grows in the open page over the socket, no reload.
    single_id = run_from_runbook_page(author, runbook_id, "Run block probe")
    seen = watch_tick_by_tick(author, stack, single_id)
    growing = [text for text in seen if "tick" in text and "tick 8" not in text]
    assert len(growing) >= 3, f"the output did not arrive progressively: {seen!r}"
    assert "built by the platform" in seen[-1] and "tick 8" in seen[-1]
    assert author.evaluate("window.__samePage") is True and author.evaluate("window.__wsOpens") >= 1
    assert "Succeeded" in author.inner_text("#execution-status")
    people.shoot(author, "single-block-run")

    # The whole runbook: the API call carries the stored secret, the page never shows it.
    full_id = run_from_runbook_page(author, runbook_id, "▶ Run runbook")
    wait_for_tick(author, 1)
    release(stack, execution_id=full_id, block_key="probe", names=TICK_NAMES)  # watched above: all at once
    seen = watch_until_final(author)
    assert "Succeeded" in author.inner_text("#execution-status")
    assert author.evaluate("window.__samePage") is True
    assert status_server.authorizations == [f"Bearer {SECRET}"]
    page_text = author.content()
    assert SECRET not in page_text
    steps = author.inner_text(f"#steps-{full_id}")
    assert "status dashboard" in steps and "200 OK" in steps
    assert "Authorization: (credential “status-token”)" in steps, "the header is named, its value never shown"
    people.shoot(author, "full-run")

    # History: both runs, each with the version it ran.
    author.goto(f"/executions/?runbook={runbook_id}")
    rows = author.locator("#execution-list tbody tr")
    assert rows.count() == 2
    texts = [rows.nth(index).inner_text() for index in range(2)]
    assert all("v1" in text for text in texts)
    assert author.locator(f"a[href='/executions/{single_id}/']").count() >= 1
    assert author.locator(f"a[href='/executions/{full_id}/']").count() >= 1
    people.shoot(author, "history")
    author.click(f"#execution-list a[href='/executions/{single_id}/']")
    author.wait_for_url(f"**/executions/{single_id}/")
    assert "tick 8" in author.inner_text(f"#steps-{single_id}"), "the live output was stored, not just shown"

    # Edit, publish v2, roll back: v3 equals v1.
    author.goto(f"/runbooks/{runbook_id}/")
    author.locator("li[data-key=probe] .block-actions button", has_text="Edit").click()
    form = author.locator("li[data-key=probe] form, li.editing form").last
    form.locator("[name$=-script]").fill("echo second version")
    form.locator("button[type=submit]").click()
    author.wait_for_selector("li[data-key=probe] pre.script >> text=echo second version")
    author.goto(f"/runbooks/{runbook_id}/versions/")
    author.fill("#id_message", "Simpler probe")
    author.click("#publish-form button[type=submit]")
    author.wait_for_selector("#version-2")
    author.click("#version-1 >> text=Restore v1")
    author.fill("#id_message", "The simpler probe hides the dashboard check")
    people.shoot(author, "rollback-form")
    author.click("#rollback-panel button[type=submit]")
    author.wait_for_selector("#version-3")
    assert "Rollback to v1" in author.inner_text("#version-3")
    people.shoot(author, "versions-after-rollback")
    hashes = {}
    for number in (1, 2, 3):
        author.goto(f"/runbooks/{runbook_id}/versions/{number}/")
        hashes[number] = author.inner_text("main code")
    assert hashes[3] == hashes[1] != hashes[2]
    author.goto(f"/runbooks/{runbook_id}/")
    assert "tick $i" in author.inner_text("li[data-key=probe]")

    # Share with a viewer, who sees everything and can run nothing.
    author.goto(f"/runbooks/{runbook_id}/share")
    author.select_option("#grant-kind", "user")
    author.fill("#grant-name", f"vic-{tag}")
    author.select_option("#grant-role", "viewer")
    author.click(".grant-form button[type=submit]")
    author.wait_for_selector(f"#access >> text=vic-{tag}")
    people.shoot(author, "shared-with-viewer")

    viewer = people.sign_in("vic")
    viewer.goto(f"/runbooks/{runbook_id}/")
    body = viewer.inner_text("main")
    assert "Check the status API" in body and "status dashboard" in body and "tick $i" in body
    assert viewer.locator("button.btn-run").count() == 0
    assert viewer.locator("#run-form").count() == 0
    assert viewer.get_by_role("button", name=re.compile("Run")).count() == 0
    people.shoot(viewer, "viewer-runbook")
    viewer.goto(f"/executions/{full_id}/")
    assert "Succeeded" in viewer.inner_text("#execution-status")
    assert SECRET not in viewer.content()
    people.shoot(viewer, "viewer-execution")
    viewer.goto(f"/runbooks/{runbook_id}/versions/")
    assert viewer.locator("#versions tbody tr").count() == 3
    assert viewer.locator("#publish-form").count() == 0
    csrf = next(cookie["value"] for cookie in viewer.context.cookies() if cookie["name"] == "csrftoken")
    refused = viewer.request.post(
        f"/runbooks/{runbook_id}/run",
        form={"run-block": "", "csrfmiddlewaretoken": csrf},
        headers={"X-CSRFToken": csrf, "Referer": f"{stack.url}/runbooks/{runbook_id}/"},
    )
    assert refused.status == 403
    assert "Your role does not allow" in refused.text(), "refused for its role, not for a missing token"
    viewer.goto(f"/executions/?runbook={runbook_id}")
    assert viewer.locator("#execution-list tbody tr").count() == 2, "the refused POST started nothing"
    people.shoot(viewer, "viewer-history")
