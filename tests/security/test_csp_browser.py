"""Issue 12 #7 in real Chromium: the pages work under the Content-Security-Policy.

Every main page loads with no CSP violation and no console error, and htmx still swaps (adding a
block in the editor, then its Cancel, which used an hx-on handler before).
"""

import pytest
from django.utils import timezone

from apps.executions.models import Execution
from tests.support.browser import sign_in

pytestmark = pytest.mark.browser

# Registered before any page script: the browser reports each blocked inline script, style,
# handler or eval here, whether or not it also logs it.
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
}, true);
"""


@pytest.fixture
def watched(page):
    problems: list[str] = []
    page.add_init_script(COLLECT_VIOLATIONS)
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    # Chromium asks every site for /favicon.ico; we have none, and its 404 is not a page problem.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    return page, problems


def visit(page, problems: list[str], url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, (url, response.status)
    assert "script-src 'self'" in response.headers["content-security-policy"], url
    page.wait_for_load_state("load")
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], (url, violations)
    assert problems == [], (url, problems)


def test_the_main_pages_load_without_a_single_violation(transactional_db, cast, watched):
    page, problems = watched
    execution = Execution.objects.create(
        runbook=cast.runbook, snapshot={"blocks": []}, status="succeeded", triggered_by=cast.admin,
        started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    visit(page, problems, "/accounts/login/")
    sign_in(page, "admin")
    runbook = cast.runbook.pk
    for url in (
        "/runbooks/",
        f"/runbooks/{runbook}/",
        f"/runbooks/{runbook}/edit",
        f"/runbooks/{runbook}/run",
        "/executions/",
        f"/executions/{execution.pk}/",
        "/credentials/",
        "/environments/",
        "/audit/",
        "/accounts/profile/",
        "/admin/",
        "/admin/axes/accessattempt/",
        "/admin/runbooks/runbook/",
        "/api/docs/",
    ):
        visit(page, problems, url)


def test_htmx_still_swaps_under_the_policy(transactional_db, cast, watched):
    page, problems = watched
    sign_in(page, "editor")
    visit(page, problems, f"/runbooks/{cast.runbook.pk}/")
    page.evaluate("window.notReloaded = true")
    blocks_before = page.locator("#blocks > li").count()
    page.click("form.add-block button[value=command]")
    new_form = page.locator("#blocks > li").nth(blocks_before)
    new_form.locator("button[data-remove-closest]").wait_for()
    assert page.evaluate("window.notReloaded") is True
    # The Cancel that used hx-on (blocked by the policy) now works from app.js.
    new_form.locator("button[data-remove-closest]").click()
    page.wait_for_function(f"() => document.querySelectorAll('#blocks > li').length === {blocks_before}")
    assert page.evaluate("window.__cspViolations") == []
    assert problems == []


def test_the_new_token_copy_and_select_work_under_the_policy(transactional_db, cast, watched):
    page, problems = watched
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, "viewer")
    visit(page, problems, "/accounts/profile/")
    page.fill("#id_name", "laptop")
    page.click("#token-create-form button[type=submit]")
    value = page.input_value("#new-token-value")
    page.click("button[data-copy-from]")
    page.wait_for_function("() => document.querySelector('button[data-copy-from]').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == value
    assert page.evaluate("window.__cspViolations") == []
    assert problems == []
