"""API call steps against a real local HTTP server (allow-listed, as an administrator would)."""

import base64
import json
from types import SimpleNamespace

import pytest

from apps.blocks.executors.api_call import execute

pytestmark = pytest.mark.usefixtures("allow_local")

SECRET = "s3cr3t-token-value-42"


def api_config(url, **extra):
    return {
        "method": "GET",
        "url": url,
        "headers": {},
        "body": "",
        "credential": None,
        "expected_status": [200],
        "timeout_seconds": 5,
        "continue_on_error": False,
        **extra,
    }


def credential(kind, **extra):
    fields = {"name": f"{kind}-cred", "kind": kind, "secret": SECRET, "username": "", "header_name": "", **extra}
    return SimpleNamespace(**fields)


def test_it_stores_status_headers_and_parsed_json(http_server, make_ctx):
    ctx = make_ctx("api_call", api_config(f"{http_server.url}/json"))
    outcome = execute(ctx)
    assert outcome.status == "succeeded", outcome.error
    assert outcome.result["status_code"] == 200
    assert outcome.result["json"] == {"status": "ok", "hosts": ["a", "b"]}
    assert outcome.result["headers"]["content-type"] == "application/json"
    assert outcome.result["body_truncated"] is False
    assert f"→ GET {http_server.url}/json" in ctx.output.text
    assert "← 200 OK" in ctx.output.text
    assert '"status": "ok"' in ctx.output.text


def test_it_keeps_host_header_of_the_url(http_server, make_ctx):
    execute(make_ctx("api_call", api_config(f"{http_server.url}/json")))
    assert http_server.requests[0].headers["Host"] == f"127.0.0.1:{http_server.port}"


def test_an_authors_host_header_is_sent_once_and_the_checked_address_still_used(http_server, make_ctx):
    execute(make_ctx("api_call", api_config(f"{http_server.url}/json", headers={"host": "vhost.internal"})))
    hosts = [value for name, value in http_server.requests[0].raw_headers if name.lower() == "host"]
    assert hosts == ["vhost.internal"]


def test_a_text_body_is_kept_without_json(http_server, make_ctx):
    outcome = execute(make_ctx("api_call", api_config(f"{http_server.url}/text")))
    assert outcome.result["json"] is None
    assert outcome.result["body"] == "plain words\n"


def test_it_drops_set_cookie_from_the_stored_headers(http_server, make_ctx):
    outcome = execute(make_ctx("api_call", api_config(f"{http_server.url}/cookie")))
    assert "set-cookie" not in outcome.result["headers"]
    assert outcome.result["headers"]["x-trace"] == "t-1"


def test_an_unexpected_status_fails_the_step_and_keeps_the_response(http_server, make_ctx):
    ctx = make_ctx("api_call", api_config(f"{http_server.url}/status/503", expected_status=[200, 204]))
    outcome = execute(ctx)
    assert outcome.status == "failed"
    assert outcome.error == "The server answered 503; the block expects 200, 204."
    assert outcome.result["status_code"] == 503
    assert outcome.result["json"] == {"error": "nope"}


def test_an_expected_non_200_status_succeeds(http_server, make_ctx):
    outcome = execute(make_ctx("api_call", api_config(f"{http_server.url}/status/404", expected_status=[404])))
    assert outcome.status == "succeeded"


def test_a_token_credential_is_sent_as_bearer_and_never_written(http_server, make_ctx):
    ctx = make_ctx(
        "api_call", api_config(f"{http_server.url}/echo", credential=7), credentials={7: credential("token")}
    )
    outcome = execute(ctx)
    assert http_server.requests[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in ctx.output.text
    assert "Authorization: (credential “token-cred”)" in ctx.output.text
    # The echoing server put the secret in the body: the stored result masks it.
    assert SECRET not in json.dumps(outcome.result)
    assert "***" in outcome.result["json"]["headers"]["Authorization"]


def test_a_basic_credential_uses_its_username(http_server, make_ctx):
    cred = credential("basic", username="deploy")
    ctx = make_ctx("api_call", api_config(f"{http_server.url}/json", credential=3), credentials={3: cred})
    assert execute(ctx).status == "succeeded"
    expected = base64.b64encode(f"deploy:{SECRET}".encode()).decode()
    assert http_server.requests[0].headers["Authorization"] == f"Basic {expected}"
    assert SECRET not in ctx.output.text and expected not in ctx.output.text


def test_a_header_credential_goes_in_its_named_header(http_server, make_ctx):
    cred = credential("header", header_name="X-Api-Key")
    ctx = make_ctx(
        "api_call",
        api_config(f"{http_server.url}/json", credential=4, headers={"x-api-key": "from-config"}),
        credentials={4: cred},
    )
    assert execute(ctx).status == "succeeded"
    headers = {name.lower(): value for name, value in http_server.requests[0].headers.items()}
    assert headers["x-api-key"] == SECRET
    assert SECRET not in ctx.output.text


def test_a_generic_secret_is_refused_before_any_request(http_server, make_ctx):
    ctx = make_ctx(
        "api_call", api_config(f"{http_server.url}/json", credential=5), credentials={5: credential("secret")}
    )
    outcome = execute(ctx)
    assert outcome.status == "failed"
    assert "generic secret, which cannot be injected into an API call" in outcome.error
    assert http_server.requests == []


def test_a_credential_the_run_does_not_have_fails_clearly(http_server, make_ctx):
    outcome = execute(make_ctx("api_call", api_config(f"{http_server.url}/json", credential=9)))
    assert outcome.status == "failed"
    assert outcome.error == "credential: credential 9 is not available to this run."
    assert http_server.requests == []


def test_url_values_are_quoted_into_their_slot(http_server, make_ctx):
    config = api_config(http_server.url + "/echo?service={{ params.service }}")
    ctx = make_ctx("api_call", config, params={"service": "a b&admin=1#x"})
    assert execute(ctx).status == "succeeded"
    assert http_server.requests[0].path == "/echo?service=a%20b%26admin%3D1%23x"


def test_a_json_body_escapes_values_from_params_and_steps(http_server, make_ctx):
    config = api_config(
        f"{http_server.url}/echo",
        method="POST",
        body='{"note": "{{ params.note }}", "previous": "{{ steps.check.result.json.status }}"}',
    )
    steps = {"check": {"status": "succeeded", "exit_code": None, "output": "", "result": {"json": {"status": "ok"}}}}
    ctx = make_ctx("api_call", config, params={"note": 'quote" and }, "admin": true'}, steps=steps)
    outcome = execute(ctx)
    assert outcome.status == "succeeded", outcome.error
    sent = http_server.requests[0]
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == {"note": 'quote" and }, "admin": true', "previous": "ok"}


def test_an_undefined_step_in_the_url_fails_naming_the_field(http_server, make_ctx):
    ctx = make_ctx("api_call", api_config(http_server.url + "/{{ steps.check.result.json.id }}"))
    outcome = execute(ctx)
    assert outcome.status == "failed"
    assert outcome.error == "url: 'steps.check' is undefined"
    assert http_server.requests == []


def test_a_header_value_rendering_a_line_break_is_refused(http_server, make_ctx):
    config = api_config(f"{http_server.url}/json", headers={"X-Team": "{{ params.team }}"})
    outcome = execute(make_ctx("api_call", config, params={"team": "sre\r\nX-Injected: 1"}))
    assert outcome.status == "failed"
    assert outcome.error.startswith("headers.X-Team: the rendered value contains a line break")
    assert http_server.requests == []


def test_a_templated_url_that_becomes_invalid_is_refused(http_server, make_ctx):
    outcome = execute(make_ctx("api_call", api_config("{{ params.url }}"), params={"url": "ftp://example.com"}))
    assert outcome.status == "failed"
    assert "only http and https" in outcome.error or "not a valid URL" in outcome.error


def test_credentials_in_the_url_are_refused(http_server, make_ctx):
    outcome = execute(make_ctx("api_call", api_config(f"http://user:pw@127.0.0.1:{http_server.port}/json")))
    assert outcome.status == "failed"
    assert "attach a credential instead" in outcome.error
    assert http_server.requests == []


def test_redirects_are_not_followed_by_default(http_server, make_ctx):
    config = api_config(f"{http_server.url}/redirect?to=/json", expected_status=[302])
    outcome = execute(make_ctx("api_call", config))
    assert outcome.status == "succeeded"
    assert outcome.result["status_code"] == 302
    assert [request.path for request in http_server.requests] == ["/redirect?to=/json"]


def test_redirects_are_followed_when_the_block_opts_in(http_server, make_ctx):
    outcome = execute(make_ctx("api_call", api_config(f"{http_server.url}/redirect?to=/json", follow_redirects=True)))
    assert outcome.status == "succeeded"
    assert outcome.result["json"]["status"] == "ok"


def test_more_than_three_redirects_fail(http_server, make_ctx):
    loop = f"{http_server.url}/redirect?to=/redirect%3Fto%3D/redirect%253Fto%253D/redirect%25253Fto%25253D/json"
    outcome = execute(make_ctx("api_call", api_config(loop, follow_redirects=True)))
    assert outcome.status == "failed"
    assert outcome.error.startswith("More than 3 redirects")
    assert len(http_server.requests) == 4


def test_the_credential_is_not_sent_to_another_host_after_a_redirect(http_server, make_ctx, settings):
    settings.RUNBOOKS_HTTP_ALLOWLIST = ["127.0.0.1/32", "localhost"]
    to = f"http://localhost:{http_server.port}/echo"
    config = api_config(f"{http_server.url}/redirect?to={to}", follow_redirects=True, credential=1)
    outcome = execute(make_ctx("api_call", config, credentials={1: credential("token")}))
    assert outcome.status == "succeeded", outcome.error
    assert http_server.requests[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert "Authorization" not in http_server.requests[1].headers
