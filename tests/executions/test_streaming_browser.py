"""Acceptance of issue 7 in real Chromium, against a real daphne (HTTP + WebSocket) and a real worker.

pytest-django's live_server speaks WSGI only, so this module starts `daphne runbooks_site.asgi:application`
and `manage.py worker` as subprocesses on the test database (PostgreSQL) or on a file SQLite
database of their own, with a Redis db and a channel-layer prefix nobody else uses.
"""

import itertools
import json
import re
import time
import uuid
from pathlib import Path

import pytest
import redis

from tests.support.live_stack import Stack

REDIS_DB_URL = "redis://127.0.0.1:6379/12"
pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.django_db(transaction=True)]

EXTRA_SETTINGS = "RUNBOOKS_STREAM_RECHECK_SECONDS = 1.0"

SETUP = """
import itertools
import json
from django.contrib.auth import get_user_model
from apps.credentials.services import credential_create
from apps.environments.models import ExecutionEnvironment
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.runbooks import runbook_create
from apps.runbooks.versions import runbook_publish

tag = {tag!r}
User = get_user_model()
users = {{name: User.objects.create_user(username=f"{{name}}-{{tag}}", password=f"{{name}}-{{tag}}-pw")
          for name in ("owner", "viewer", "outsider")}}
environment = ExecutionEnvironment.objects.create(
    name=f"busybox-{{tag}}", image="runbooks-test-busybox:latest", memory_mb=64, timeout_seconds=120)
credential = credential_create(user=users["owner"], name=f"token-{{tag}}", kind="token", secret={secret!r})
config = {config!r}
if config.pop("with_credential", False):
    config["credentials"] = [credential.pk]
runbook = runbook_create(user=users["owner"], title=f"Stream {{tag}}", environment=environment.pk,
                         blocks=[{{"key": "main", "kind": "command", "config": config}}])
runbook_grant(runbook=runbook, actor=users["owner"], principal=users["viewer"], role="viewer")
runbook_publish(runbook=runbook, user=users["owner"], message="v1")
print("SETUP" + json.dumps({{"runbook": runbook.pk, "users": {{k: v.username for k, v in users.items()}}}}))
"""


class StreamStack(Stack):
    """The live stack, plus a runbook of one command block to run on it."""

    def __init__(self, tmp_path: Path):
        super().__init__(tmp_path, name="stream", redis_url=REDIS_DB_URL, extra_settings=EXTRA_SETTINGS)

    def setup(
        self, *, script: str, tag: str = "", secret: str = "unused-secret", with_credential: bool = False
    ) -> dict:
        tag = tag or uuid.uuid4().hex[:8]
        config = {"script": script, "timeout_seconds": 120, "with_credential": with_credential}
        out = self.manage("shell", "-c", SETUP.format(tag=tag, secret=secret, config=config))
        return json.loads(out.split("SETUP", 1)[1])


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, django_db_setup, django_db_blocker) -> StreamStack:
    """The database and settings, once per module (a file SQLite database is migrated once)."""
    with django_db_blocker.unblock():
        return StreamStack(tmp_path_factory.mktemp("stream"))


@pytest.fixture
def stack(prepared, docker_engine, browser):
    """A fresh daphne and worker per test: on PostgreSQL each test's flush recreates the content
    types under new ids, which long-lived processes would still hold in their caches."""
    try:
        redis.Redis.from_url(REDIS_DB_URL, socket_connect_timeout=2).flushdb()
    except redis.RedisError as error:
        pytest.fail(f"Redis not reachable: {error}")
    prepared.use_new_port()
    prepared.start()
    yield prepared
    prepared.stop()


@pytest.fixture
def open_page(browser, stack):
    contexts = []

    def make(username: str):
        context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(40000)
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


def run_block(page, runbook_id: int, *, whole: bool = False) -> int:
    """Click the block's Run button (or Run runbook) on the runbook page; the execution page opens."""
    page.goto(f"/runbooks/{runbook_id}/")
    page.click("#run-form button[name=run-block]" if whole else "button.btn-run[value=main]")
    page.wait_for_url(re.compile(r"/executions/\d+/$"))
    page.wait_for_selector("#live-socket", state="attached")
    return int(re.search(r"/executions/(\d+)/", page.url).group(1))


def output_text(page) -> str:
    return page.eval_on_selector("pre[id^='output-']", "pre => pre.textContent")


def is_final(page) -> bool:
    return page.eval_on_selector("#execution-status", "element => element.dataset.final === '1'")


def watch_until_final(page, timeout: float = 120) -> list[str]:
    """Output seen every 50 ms until the final state shows; distinct observations, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        final = is_final(page)
        text = output_text(page)
        if not seen or text != seen[-1]:
            seen.append(text)
        if final:
            return seen
        page.wait_for_timeout(50)
    pytest.fail(f"the final state never showed; last output: {seen[-1:]!r}")


def numbered(text: str, prefix: str) -> list[int]:
    return [int(n) for n in re.findall(rf"^{prefix} (\d+)$", text, re.M)]


TICKS = 'for i in $(seq 1 15); do echo "tick $i"; sleep 0.2; done'


def test_lines_appear_progressively_and_the_final_state_shows_without_a_reload(stack, open_page):
    data = stack.setup(script=TICKS)
    page = open_page(data["users"]["owner"])
    run_block(page, data["runbook"], whole=True)
    page.evaluate("window.__samePage = true")
    observations = watch_until_final(page)
    growing = [text for text in observations[:-1] if numbered(text, "tick")]
    assert len(growing) >= 5, f"only {len(growing)} observations of growing output before the end"
    assert all(len(a) < len(b) for a, b in itertools.pairwise(growing)), "output only grows"
    assert numbered(observations[-1], "tick") == list(range(1, 16))
    assert page.evaluate("window.__samePage") is True, "no reload happened"
    status = page.inner_text("#execution-status")
    assert "Succeeded" in status
    assert page.title().startswith("Succeeded · Run #")
    assert "exit 0" in page.inner_text("[id^='step-state-']")
    assert page.get_attribute("#execution-progress progress", "value") == "1"
    assert page.is_hidden("#live-banner")


def test_a_socket_dropped_mid_run_resumes_with_no_line_lost_or_doubled(stack, open_page):
    data = stack.setup(script='for i in $(seq 1 20); do echo "tick $i"; sleep 0.2; done')
    page = open_page(data["users"]["owner"])
    run_block(page, data["runbook"])
    page.wait_for_function("() => /tick 3\\n/.test(document.querySelector(\"pre[id^='output-']\").textContent)")
    # Gone for a second: lines printed meanwhile must come back from the database on reconnect.
    page.evaluate("runbooksLive.drop(1000)")
    page.wait_for_function("() => window.__wsOpens >= 2", timeout=20000)
    observations = watch_until_final(page)
    assert numbered(observations[-1], "tick") == list(range(1, 21))
    assert "Succeeded" in page.inner_text("#execution-status")


def test_without_a_socket_the_page_says_so_and_polls_until_the_end(stack, open_page):
    data = stack.setup(script=TICKS)
    page = open_page(data["users"]["owner"])
    # A proxy that drops WebSockets, simulated: every socket goes to a port where nothing listens.
    page.add_init_script(
        "const RealWebSocket = window.WebSocket;"
        "window.WebSocket = function () { return new RealWebSocket('ws://127.0.0.1:9/'); };"
        "window.WebSocket.CONNECTING = 0; window.WebSocket.OPEN = 1;"
    )
    run_block(page, data["runbook"])
    page.wait_for_selector("#live-banner:not([hidden])")
    assert page.inner_text("#live-banner") == "Live updates unavailable, refreshing every 2 s"
    page.wait_for_selector("#execution-status[data-final='1']", timeout=40000)
    assert numbered(output_text(page), "tick") == list(range(1, 16))
    assert "Succeeded" in page.inner_text("#execution-status")
    assert page.title().startswith("Succeeded · Run #")
    assert page.is_hidden("#live-banner")


def test_an_outsiders_websocket_is_refused_and_gets_no_data(stack, open_page):
    data = stack.setup(script=TICKS)
    owner = open_page(data["users"]["owner"])
    execution_id = run_block(owner, data["runbook"])
    outsider = open_page(data["users"]["outsider"])
    assert outsider.goto(f"/executions/{execution_id}/").status == 404
    outcome = outsider.evaluate(
        """id => new Promise(resolve => {
            const messages = [];
            const socket = new WebSocket(`ws://${location.host}/ws/executions/${id}/`);
            socket.onmessage = event => messages.push(event.data);
            socket.onclose = event => resolve({code: event.code, messages});
        })""",
        execution_id,
    )
    assert outcome == {"code": 4404, "messages": []}


def test_a_credential_echoed_by_a_command_shows_as_stars(stack, open_page):
    secret = "live-" + uuid.uuid4().hex
    tag = uuid.uuid4().hex[:8]
    data = stack.setup(
        script=f'echo "token=$(cat "$RB_SECRET_TOKEN_{tag.upper()}_FILE")"; sleep 0.5; echo done',
        tag=tag,
        secret=secret,
        with_credential=True,
    )
    page = open_page(data["users"]["owner"])
    run_block(page, data["runbook"])
    watch_until_final(page)
    text = output_text(page)
    assert "token=***" in text and "done" in text
    assert secret not in page.content()


def test_a_flood_keeps_the_last_lines_in_the_page_and_the_rest_one_click_away(stack, open_page):
    data = stack.setup(script="seq 1 30000")
    page = open_page(data["users"]["owner"])
    run_block(page, data["runbook"])
    page.wait_for_selector("#execution-status[data-final='1']", timeout=60000)
    page.wait_for_function("() => document.querySelector(\"pre[id^='output-']\").textContent.endsWith('30000\\n')")
    shown = [int(line) for line in output_text(page).split()]
    assert shown == list(range(shown[0], 30001)), "a contiguous tail, no gap and no double"
    assert 4000 <= len(shown) <= 5000
    page.click("[id^='output-more-'] >> text=Show full output")
    page.wait_for_selector("pre.full-output")
    assert [int(line) for line in page.inner_text("pre.full-output").split()] == list(range(1, 30001))
