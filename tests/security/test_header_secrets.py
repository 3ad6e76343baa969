"""Issue 12.7: a token or header secret that cannot travel in an HTTP header is refused when saved,
and a step that crashes never writes any part of a secret to the worker's log."""

import logging

import pytest

from apps.credentials.models import Credential
from apps.credentials.services import credential_create
from apps.executions.models import Execution
from apps.executions.services.start import execution_start
from tests.support.executions import run_now


@pytest.mark.parametrize("kind", ["token", "header"])
@pytest.mark.parametrize(
    "secret", ["sécret-value-123", "secret\x01value-123", "secret-value-😀"], ids=["accent", "ctl", "emoji"]
)
def test_it_refuses_a_header_secret_that_is_not_printable_ascii(cast, api_for, kind, secret):
    body = {"name": f"bad-{kind}", "kind": kind, "secret": secret, "header_name": "X-Api-Key"}
    answer = api_for(cast.owner).post("/api/v1/credentials/", body, format="json")
    assert answer.status_code == 400, answer.content
    assert "printable ASCII" in answer.json()["secret"][0]
    assert secret not in answer.content.decode()
    assert not Credential.objects.filter(name=f"bad-{kind}").exists()


def test_the_page_form_refuses_it_too(cast, client_for):
    answer = client_for(cast.owner).post(
        "/credentials/new/", {"name": "bad", "kind": "token", "secret": "sécret-value-123", "description": ""}
    )
    assert answer.status_code == 200
    assert "printable ASCII" in answer.content.decode()
    assert not Credential.objects.filter(name="bad").exists()


def test_basic_auth_passwords_may_be_unicode(cast, api_for):
    body = {"name": "basic", "kind": "basic", "username": "ops", "secret": "pässwörd-1234"}
    assert api_for(cast.owner).post("/api/v1/credentials/", body, format="json").status_code == 201


def test_a_crashing_step_logs_no_part_of_a_secret(cast, make_runbook, settings, caplog):
    """A secret saved before the rule (written straight to the row) still cannot leak through the log."""

    credential = credential_create(user=cast.owner, name="legacy", kind="token", secret="placeholder-123")
    credential.secret = "lëgacy-secret-Ω-value"
    credential.save()
    settings.RUNBOOKS_HTTP_ALLOWLIST = ["127.0.0.1"]
    runbook = make_runbook(
        cast.owner,
        [{"key": "call", "kind": "api_call",
          "config": {"method": "GET", "url": "http://127.0.0.1:9/", "credential": credential.pk}}],
    )  # fmt: skip
    with caplog.at_level(logging.DEBUG):
        execution = run_now(execution_start(runbook=runbook, user=cast.owner))
    assert execution.status == "failed"
    step = execution.steps.get()
    assert step.error == (
        "The secret of credential “legacy” cannot be sent in an HTTP header; its owner must enter a new one."
    )
    logged = caplog.text + step.error + str(step.result) + Execution.objects.get(pk=execution.pk).error
    for fragment in ("ë", "Ω", "\\xeb", "\\u03a9", "lëgacy", "legacy-secret"):
        assert fragment not in logged, fragment
