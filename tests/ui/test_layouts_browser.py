"""Every page fits a phone (390 px) and a laptop (1280 px), and axe-core finds nothing serious.

Each page is filled with what makes layouts break in real use: long titles and URLs, a wide
Markdown table, many tags, long command output, audit rows with long details. A screenshot of each
page at each width lands in test-artifacts/layouts/<page>-<width>.png for a person to look at.
"""

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from apps.audit.services import audit_record
from apps.credentials.services import credential_create
from apps.executions.services.start import execution_start
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.runbooks import runbook_create, runbook_update
from apps.runbooks.versions import runbook_publish
from tests.support.browser import sign_in
from tests.support.executions import command, run_now

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "layouts"
WIDTHS = (390, 1280)
SERIOUS = {"serious", "critical"}
axe = Axe()

DESCRIPTION = """When **p95 latency** of the payments API alarms fire for more than five minutes.

| dashboard | query | threshold | owner | escalation |
|---|---|---|---|---|
| https://grafana.example.com/d/payments-api-latency-overview?orgId=1&refresh=30s | histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{service="payments"}[5m])) by (le)) | 750ms | team-payments-oncall@example.com | page the database on-call |

- [ ] posted in #incidents
- [x] checked the dashboard
"""


@pytest.fixture
def site(cast, environment):
    """A runbook of every block kind with two versions, a finished run, a credential and audit rows."""

    long_url = "https://status.example.com/api/v2/components/payments-api-eu-west-1/incidents?include=updates&limit=50"
    runbook = runbook_create(
        user=cast.owner,
        title="Fail over the payments database cluster to the standby region without losing writes",
        description=DESCRIPTION,
        tags=["payments", "database", "failover", "eu-west-1", "tier-0", "postgres", "high-availability"],
        environment=environment.pk,
        parameters=[
            {"name": "HOST", "label": "Primary host", "default": "db-primary-eu-west-1.internal.example.com"},
            {"name": "REASON", "label": "Why", "default": "", "required": True},
        ],
        blocks=[
            {"key": "intro", "kind": "instruction", "config": {"markdown": DESCRIPTION}},
            command("check", "echo " + "connection-pool-exhausted-" * 12 + "\necho $RB_PARAM_HOST"),
            {"key": "status", "kind": "api_call", "config": {"url": long_url, "method": "GET"}},
            {"key": "decide", "kind": "conditional", "config": {"expression": "steps.check.exit_code == 0"}},
            {"key": "cool-down", "kind": "timer", "config": {"seconds": 30}},
        ],
    )
    for role in ("editor", "runner", "viewer"):
        runbook_grant(runbook=runbook, actor=cast.owner, principal=getattr(cast, role), role=role)
    runbook_publish(runbook=runbook, user=cast.owner, message="First version, reviewed by the database team")
    runbook.refresh_from_db()
    runbook_update(runbook=runbook, user=cast.owner, revision=runbook.revision, title=runbook.title + " (v2)")
    runbook_publish(runbook=runbook, user=cast.owner, message="Second version")
    credential = credential_create(
        user=cast.owner, name="statuspage-api-token-for-the-payments-team", kind="token", secret="not-shown"
    )
    runbook.refresh_from_db()
    quick = runbook_create(
        user=cast.owner, title="Quick check", environment=environment.pk, blocks=[command("only", "echo ok")]
    )
    runbook_publish(runbook=quick, user=cast.owner, message="v1")
    execution = run_now(execution_start(runbook=quick, user=cast.owner))
    # An audit row whose detail is one long unbroken value (the 1280 px overflow).
    audit_record(actor=cast.owner, action="runbook.edit", obj=runbook, detail={"url": long_url + "&x=" + "a" * 120})
    return {"runbook": runbook, "execution": execution, "credential": credential, "environment": environment}


PAGES = {
    "runbooks": lambda s: reverse("runbooks:list"),
    "runbook": lambda s: reverse("runbooks:detail", args=[s["runbook"].pk]),
    "editor": lambda s: reverse("runbooks:edit", args=[s["runbook"].pk]),
    "block-editor": lambda s: reverse(
        "runbooks:block_edit", args=[s["runbook"].pk, s["runbook"].blocks.get(key="status").pk]
    ),
    "run-form": lambda s: reverse("executions:start", args=[s["runbook"].pk]),
    "run": lambda s: reverse("executions:detail", args=[s["execution"].pk]),
    "executions": lambda s: reverse("executions:list"),
    "credentials": lambda s: reverse("credentials:list"),
    "credential": lambda s: reverse("credentials:detail", args=[s["credential"].pk]),
    "environments": lambda s: reverse("environments:list"),
    "environment": lambda s: reverse("environments:detail", args=[s["environment"].pk]),
    "audit": lambda s: reverse("audit:list"),
    "versions": lambda s: reverse("runbooks:versions", args=[s["runbook"].pk]),
    "diff": lambda s: reverse("runbooks:diff", args=[s["runbook"].pk]) + "?from=1&to=2",
    "share": lambda s: reverse("runbooks:share", args=[s["runbook"].pk]),
    "profile": lambda s: reverse("accounts:profile"),
}


def _serious(results) -> list[str]:
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(
            node["target"][0] if isinstance(node["target"][0], str) else str(node["target"])
            for node in violation["nodes"][:5]
        )
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_fits_both_widths_and_has_no_serious_accessibility_violation(transactional_db, cast, site, page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, "admin")
    url = PAGES[name](site)
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        answer = page.goto(url)
        assert answer.status == 200, (name, answer.status)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll_width > inner_width:
            wide = page.evaluate(
                """(limit) => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > limit + 1 && !e.closest('.table-scroll, pre'))
                    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + [...e.classList].join('.'))""",
                inner_width,
            )
            problems.append(f"{width}px: the page is {scroll_width}px wide; too wide: {wide}")
        problems.extend(f"{width}px: {violation}" for violation in _serious(axe.run(page)))
    assert not problems, "\n".join(problems)
