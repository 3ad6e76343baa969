"""A save that crashes (here: no CREDENTIAL_KEYS) shows no secret: not on the error page, not in the
error report Django mails to ADMINS or logs (ExceptionReporter, as AdminEmailHandler builds it).

Django's DEBUG=True page deliberately shows every variable (its filter is off in DEBUG), which is
why production refuses to run with DEBUG on; the checks here are for DEBUG=False.
"""

import json
import sys

import pytest
from django.core.signals import got_request_exception
from django.test import Client, override_settings
from django.views.debug import ExceptionReporter

from tests.credentials.test_sentinel_crawl import SENTINEL, forbidden_spellings, leaks


@pytest.fixture
def crashing_client(cast):
    client = Client(raise_request_exception=False)
    client.force_login(cast.admin)
    # An empty key list is a real misconfiguration: encrypting raises inside the save.
    with override_settings(DEBUG=False, CREDENTIAL_KEYS=[]):
        yield client


@pytest.fixture
def error_reports():
    reports = []

    def report(sender, request, **kwargs):
        reporter = ExceptionReporter(request, *sys.exc_info(), is_email=True)
        reports.append(reporter.get_traceback_text() + reporter.get_traceback_html())

    got_request_exception.connect(report)
    yield reports
    got_request_exception.disconnect(report)


@pytest.mark.parametrize(
    ("path", "data", "as_json"),
    [
        ("/credentials/new/", {"name": "crash-ui", "kind": "secret", "secret": SENTINEL}, False),
        (
            "/admin/credentials/credential/add/",
            {"name": "crash-admin", "kind": "secret", "new_secret": SENTINEL},
            False,
        ),
        ("/api/v1/credentials/", {"name": "crash-api", "kind": "secret", "secret": SENTINEL}, True),
    ],
)
def test_error_page_and_error_report_hide_the_secret(crashing_client, error_reports, path, data, as_json):
    if as_json:
        response = crashing_client.post(path, json.dumps(data), content_type="application/json")
    else:
        response = crashing_client.post(path, data)
    assert response.status_code == 500
    assert leaks(response.content.decode("utf-8", "replace"), forbidden_spellings(SENTINEL)) == []
    assert len(error_reports) == 1
    assert "CredentialKeyError" in error_reports[0]  # a real report, with frames and their variables
    assert leaks(error_reports[0], forbidden_spellings(SENTINEL)) == []
