"""Issue 12.4: values a step publishes through RB_OUTPUTS_FILE are masked in every spelling the
masker claims, not only the raw one, wherever they are shown: the API, the execution page, the admin.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.core.masking.masker import MASK
from apps.credentials.services import credential_create
from apps.executions.services.start import execution_start
from tests.security.test_masking_render import SECRET, assert_hidden, visible_text
from tests.support.executions import command, run_now

SPELLINGS = {
    "base64": 'printf \'encoded=%s\\n\' "$(base64 < "$RB_SECRET_TOK_FILE")" >> "$RB_OUTPUTS_FILE"',
    "base64-after-a-prefix": (
        'printf \'basic=%s\\n\' "$(printf \'svc:%s\' "$(cat "$RB_SECRET_TOK_FILE")" | base64)" >> "$RB_OUTPUTS_FILE"'
    ),
    "base64-urlsafe": (
        "printf 'safe=%s\\n' \"$(printf '..%s' \"$(cat \"$RB_SECRET_TOK_FILE\")\" | base64 | tr '+/' '-_')\" "
        '>> "$RB_OUTPUTS_FILE"'
    ),
    "url-encoded": (
        "printf 'url=%s\\n' \"$(sed -e 's|/|%2F|g' -e 's|+|%2B|g' -e 's|\"|%22|g' -e 's|&|%26|g' "
        '"$RB_SECRET_TOK_FILE")" >> "$RB_OUTPUTS_FILE"'
    ),
    "control-character-inside": (
        's=$(cat "$RB_SECRET_TOK_FILE"); printf \'joined=%s\\001%s\\n\' "$(printf \'%s\' "$s" | cut -c1-4)" '
        '"$(printf \'%s\' "$s" | cut -c5-)" >> "$RB_OUTPUTS_FILE"'
    ),
}


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_it_masks_every_spelling_of_a_secret_in_published_values(
    spelling, cast, make_runbook, docker_engine, client_for, api_for
):
    credential = credential_create(user=cast.owner, name="tok", kind="token", secret=SECRET)
    runbook = make_runbook(cast.owner, [command("publish", SPELLINGS[spelling], credentials=[credential.pk])])
    execution = run_now(execution_start(runbook=runbook, user=cast.owner))
    step = execution.steps.get()
    assert execution.status == "succeeded", execution.error
    (value,) = step.result["values"].values()
    assert MASK in value
    assert_hidden("result.values", value)

    answer = api_for(cast.viewer).get(f"/api/v1/executions/{execution.pk}/")
    assert answer.status_code == 200
    assert_hidden("API answer", answer.content.decode())
    assert MASK in str(answer.json()["steps"][0]["result"]["values"])

    page = client_for(cast.viewer).get(f"/executions/{execution.pk}/")
    assert page.status_code == 200
    assert_hidden("execution page", page.content.decode())
    assert MASK in visible_text(page.content.decode())

    admin = client_for(cast.admin)
    for url in (f"/admin/executions/steprun/{step.pk}/change/", f"/admin/executions/execution/{execution.pk}/change/"):
        shown = admin.get(url)
        assert shown.status_code == 200, url
        assert_hidden(f"admin {url}", shown.content.decode())


def test_it_masks_a_secret_an_api_server_echoes_with_control_characters_inside(
    cast, make_runbook, client_for, api_for, settings
):
    """An API call's result (headers, json, body) goes through the same masker as output."""

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self):
            token = self.headers["Authorization"].removeprefix("Bearer ")
            body = json.dumps(
                {
                    "soh": f"{token[:4]}\x01{token[4:]}",
                    "sgr": f"{token[:4]}\x1b[0m{token[4:]}",
                    "nl": token.replace("X", "X\n"),
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Echo", f"{token[:4]}\t{token[4:]}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.RUNBOOKS_HTTP_ALLOWLIST = ["127.0.0.1/32"]
    credential = credential_create(user=cast.owner, name="tok", kind="token", secret=SECRET)
    block = {
        "key": "call",
        "kind": "api_call",
        "config": {
            "method": "GET",
            "url": f"http://127.0.0.1:{server.server_address[1]}/",
            "credential": credential.pk,
        },
    }
    try:
        execution = run_now(execution_start(runbook=make_runbook(cast.owner, [block]), user=cast.owner))
    finally:
        server.shutdown()
        server.server_close()
    step = execution.steps.get()
    assert execution.status == "succeeded", execution.error
    assert step.result["json"] == {"soh": MASK, "sgr": MASK, "nl": MASK}
    assert step.result["headers"]["x-echo"] == MASK

    answer = api_for(cast.viewer).get(f"/api/v1/executions/{execution.pk}/")
    assert answer.status_code == 200
    assert_hidden("API answer", answer.content.decode())
    page = client_for(cast.viewer).get(f"/executions/{execution.pk}/")
    assert_hidden("execution page", page.content.decode())
    admin = client_for(cast.admin).get(f"/admin/executions/steprun/{step.pk}/change/")
    assert admin.status_code == 200
    assert_hidden("admin step run", admin.content.decode())


def test_it_masks_a_secret_quoted_by_an_outputs_file_error(cast, make_runbook, docker_engine, api_for):
    credential = credential_create(user=cast.owner, name="tok", kind="token", secret=SECRET)
    # Not a valid name: the error names the line's name, which is the secret.
    script = 'printf \'%s=1\\n\' "$(cat "$RB_SECRET_TOK_FILE")" >> "$RB_OUTPUTS_FILE"'
    runbook = make_runbook(cast.owner, [command("publish", script, credentials=[credential.pk])])
    execution = run_now(execution_start(runbook=runbook, user=cast.owner))
    assert execution.status == "failed"
    assert "RB_OUTPUTS_FILE" in execution.error
    assert_hidden("execution error", execution.error)
    assert_hidden("step error", execution.steps.get().error)
    answer = api_for(cast.viewer).get(f"/api/v1/executions/{execution.pk}/")
    assert_hidden("API answer", answer.content.decode())
