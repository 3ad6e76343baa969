"""Save-time warnings: a block that can only fail at run time is saved, and says so on the page."""

import html
import re

import pytest
from django.urls import reverse

from apps.runbooks.models import Block, Runbook
from apps.runbooks.services.runbooks import runbook_update
from apps.runbooks.warnings import config_warnings

HTMX = {"HTTP_HX_REQUEST": "true"}


def _create(client, runbook: Runbook, kind: str, fields: dict, *, key: str):
    """Add a block through the editor as the "Add block" menu does."""
    form = client.get(reverse("runbooks:block_new", args=[runbook.pk]), {"kind": kind}, **HTMX)
    prefix = re.search(r'name="prefix" value="(new-[0-9a-f]{8})"', form.content.decode()).group(1)
    runbook.refresh_from_db()
    data = {"kind": kind, "prefix": prefix, f"{prefix}-key": key, f"{prefix}-title": "", "revision": runbook.revision}
    data.update({f"{prefix}-{name}": value for name, value in fields.items()})
    return client.post(reverse("runbooks:block_create", args=[runbook.pk]), data, **HTMX)


def _api_call(url: str) -> dict:
    return {"method": "GET", "url": url, "expected_status": "200", "timeout_seconds": "5", "headers": "", "body": ""}


def _warnings_in(page: str) -> list[str]:
    found = re.findall(r'class="message warning block-warning"[^>]*>(.*?)</p>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>|\s+", " ", text)).strip() for text in found]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/admin", "127.0.0.1, which is a loopback address"),
        ("http://localhost/status", "a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "the cloud metadata address"),
        ("http://10.1.2.3/", "a private address"),
        ("http://[fe80::1]/", "a link-local address"),
    ],
)
def test_it_saves_an_api_call_to_a_refused_address_and_warns_naming_the_allowlist(cast, client_for, url, why):
    answer = _create(client_for(cast.editor), cast.runbook, "api_call", _api_call(url), key="probe")
    assert answer.status_code == 200
    assert Block.objects.get(runbook=cast.runbook, key="probe").config["url"] == url  # saved all the same
    (warning,) = _warnings_in(answer.content.decode())
    assert "will be refused when it runs" in warning
    assert why in warning
    assert "RUNBOOKS_HTTP_ALLOWLIST" in warning


def test_the_warning_stays_on_the_runbook_page(cast, client_for):
    _create(client_for(cast.editor), cast.runbook, "api_call", _api_call("http://127.0.0.1/"), key="probe")
    page = client_for(cast.viewer).get(reverse("runbooks:detail", args=[cast.runbook.pk]))
    (warning,) = _warnings_in(page.content.decode())
    assert "RUNBOOKS_HTTP_ALLOWLIST" in warning


@pytest.mark.parametrize(
    "url", ["https://example.com/health", "https://{{ params.host }}/health", "http://api.internal/x"]
)
def test_it_does_not_warn_for_a_url_it_cannot_judge_without_a_run_or_dns(cast, client_for, url):
    answer = _create(client_for(cast.editor), cast.runbook, "api_call", _api_call(url), key="probe")
    assert answer.status_code == 200
    assert _warnings_in(answer.content.decode()) == []


def test_an_allowlisted_address_is_no_warning(cast, client_for, settings):
    settings.RUNBOOKS_HTTP_ALLOWLIST = ["10.0.0.0/8"]
    answer = _create(client_for(cast.editor), cast.runbook, "api_call", _api_call("http://10.1.2.3/"), key="probe")
    assert _warnings_in(answer.content.decode()) == []


@pytest.mark.parametrize(
    "url", ["http://2130706433/", "http://0x7f.1/", "http://[::ffff:127.0.0.1]/", "http://LOCALHOST./"]
)
def test_other_spellings_of_a_loopback_address_are_warned_about_too(url):
    # The editor's URL field refuses some of these spellings; the API's validation may not.
    (warning,) = config_warnings(kind="api_call", config={"url": url}, parameters=[])
    assert "loopback" in warning and "RUNBOOKS_HTTP_ALLOWLIST" in warning


def test_a_templated_host_is_judged_on_the_parameter_defaults(cast):
    parameters = [{"name": "host", "label": "Host", "default": "127.0.0.1", "required": False, "choices": None}]
    (warning,) = config_warnings(kind="api_call", config={"url": "http://{{ params.host }}/"}, parameters=parameters)
    assert "loopback" in warning and "RUNBOOKS_HTTP_ALLOWLIST" in warning


def _create_condition_with_a_host_parameter(cast, client_for, expression: str):
    """cast.runbook gets a `host` parameter (default db1), then the editor adds a condition block."""
    runbook = cast.runbook
    runbook_update(
        runbook=runbook, user=cast.owner, revision=runbook.revision,
        parameters=[{"name": "host", "label": "Host", "default": "db1", "required": False, "choices": None}],
    )  # fmt: skip
    fields = {"expression": expression, "on_true": "continue", "on_false": "stop"}
    return _create(client_for(cast.editor), runbook, "conditional", fields, key="check")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("params.hots == 'db1'", "'params.hots' is undefined"),
        ("param.host == 'db1'", "'param' is undefined"),
        ("params.host > 3", "not supported between instances of 'str' and 'int'"),
        ("steps.nosuch.status == 'failed'", "'steps.nosuch' is undefined"),
        ("steps.later.exit_code == 0", "'steps.later' is undefined"),
    ],
)
def test_it_saves_an_expression_that_cannot_evaluate_on_the_defaults_and_warns(cast, client_for, expression, message):
    runbook = cast.runbook
    answer = _create_condition_with_a_host_parameter(cast, client_for, expression)
    assert answer.status_code == 200
    assert Block.objects.get(runbook=runbook, key="check").config["expression"] == expression
    (warning,) = _warnings_in(answer.content.decode())
    assert "cannot be evaluated with the parameters' defaults" in warning
    assert message in warning
    if "later" in expression:
        _create(client_for(cast.editor), runbook, "timer", {"seconds": "5"}, key="later")
        page = client_for(cast.editor).get(reverse("runbooks:detail", args=[runbook.pk])).content.decode()
        assert len(_warnings_in(page)) == 1  # a step after the condition has not run when it is evaluated


@pytest.mark.parametrize(
    "expression",
    [
        "params.host == 'db1'",
        "steps.restart.exit_code != 0",
        "steps.restart.status == 'failed' and params.host",
        "steps.restart.result.values.count | int > 3",
        "'error' in steps.restart.output",
    ],
)
def test_it_does_not_warn_for_an_expression_that_evaluates_or_depends_on_a_run(cast, client_for, expression):
    answer = _create_condition_with_a_host_parameter(cast, client_for, expression)
    assert answer.status_code == 200
    assert _warnings_in(answer.content.decode()) == []


def test_the_api_answer_has_no_warnings_field(cast, api_for):
    # DESIGN.md's runbook shape has no field for warnings, so they are shown on pages only.
    answer = api_for(cast.editor).patch(
        f"/api/v1/runbooks/{cast.runbook.pk}/",
        {"revision": cast.runbook.revision, "blocks": [
            {"key": "probe", "kind": "api_call", "config": {"method": "GET", "url": "http://127.0.0.1/"}}]},
        format="json",
    )  # fmt: skip
    assert answer.status_code == 200
    assert "warnings" not in answer.json()
    assert "warnings" not in answer.json()["blocks"][0]
