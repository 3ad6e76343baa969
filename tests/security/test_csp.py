"""Issue 12 #7: no Content-Security-Policy. Every HTML page now carries one that forbids inline
script, inline style and event-handler attributes, and no page of ours contains any of them."""

import re

import pytest
from django.utils import timezone

from apps.executions.models import Execution

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# What a policy without 'unsafe-inline' blocks: script elements without src (JSON data blocks are
# not run), <style> elements, style="" attributes, on*="" handlers, and htmx's eval-based hx-on.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style[\s>]|\sstyle\s*=", re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
HX_ON = re.compile(r"\shx-on[:-]", re.I)


def directives(header: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in header.split(";")) if part}


@pytest.fixture
def execution(cast):
    return Execution.objects.create(
        runbook=cast.runbook, snapshot={"blocks": []}, status="succeeded", triggered_by=cast.runner,
        started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip


def pages(cast, execution) -> list[tuple[str, str, dict]]:
    runbook = cast.runbook.pk
    return [
        ("anonymous", "/accounts/login/", {}),
        ("editor", "/runbooks/", {}),
        ("editor", f"/runbooks/{runbook}/", {}),
        ("editor", f"/runbooks/{runbook}/edit", {}),
        ("editor", f"/runbooks/{runbook}/blocks/new?kind=command", {"HTTP_HX_REQUEST": "true"}),
        ("runner", f"/runbooks/{runbook}/run", {}),
        ("runner", "/executions/", {}),
        ("runner", f"/executions/{execution.pk}/", {}),
        ("viewer", "/credentials/", {}),
        ("viewer", "/environments/", {}),
        ("viewer", "/accounts/profile/", {}),
        ("staff", "/audit/", {}),
        ("admin", "/admin/", {}),
        ("admin", "/admin/axes/accessattempt/", {}),
        ("anonymous", "/admin/login/", {}),
        ("viewer", "/api/docs/", {}),
    ]


def test_every_page_carries_a_policy_without_inline_code(cast, execution, client_for):
    for person, url, extra in pages(cast, execution):
        response = client_for(None if person == "anonymous" else getattr(cast, person)).get(url, **extra)
        assert response.status_code == 200, (url, response.status_code)
        assert response["Content-Type"].startswith("text/html"), url
        policy = directives(response.get("Content-Security-Policy", ""))
        for name, value in POLICY.items():
            assert policy.get(name) == value, (url, name, policy)
        assert policy["connect-src"] == "'self' ws://testserver", url
        html = response.content.decode()
        for pattern in (INLINE_SCRIPT, INLINE_STYLE, HANDLER, HX_ON):
            assert not pattern.search(html), (url, pattern.search(html).group(0))


def test_swagger_ui_gets_its_init_script_as_a_file(cast, client_for):
    response = client_for(cast.viewer).get("/api/docs/?script")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


def test_an_error_page_and_the_lockout_page_carry_the_policy_too(cast, client_for, settings):
    missing = client_for(cast.viewer).get("/runbooks/999999/")
    assert missing.status_code == 404
    assert "script-src 'self'" in missing["Content-Security-Policy"]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        locked = client_for(None).post("/accounts/login/", {"username": "viewer", "password": f"no-{attempt}"})
    assert locked.status_code == 429
    assert "script-src 'self'" in locked["Content-Security-Policy"]


def test_the_socket_is_allowed_to_the_same_host_only_and_securely_behind_tls(cast, client_for, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client_for(cast.viewer).get("/runbooks/", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="testserver")
    assert directives(response["Content-Security-Policy"])["connect-src"] == "'self' wss://testserver"


def test_the_django_rq_dashboard_keeps_working_with_its_own_inline_code(cast, client_for):
    response = client_for(cast.admin).get("/admin/django_rq/dashboard/")
    assert response.status_code == 200
    assert "<style" in response.content.decode()
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == "'self' 'unsafe-inline'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["frame-ancestors"] == "'none'"
