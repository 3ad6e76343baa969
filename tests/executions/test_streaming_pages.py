"""The execution page's live wiring and a step's full output: page, plain-text download, roles."""

import re

import pytest
from django.utils import timezone

from apps.executions.consumers import state_frame_for
from apps.executions.models import Execution, OutputChunk, StepRun
from apps.executions.output import StepOutput
from apps.executions.selectors import execution_steps
from apps.executions.services.start import execution_start
from apps.executions.templatetags.executions_live import TAIL_LINES
from tests.support.executions import run_now

ROLES = ("owner", "editor", "runner", "viewer", "outsider", "staff", "admin", "anonymous")
EXPECTED = {"owner": 200, "editor": 200, "runner": 200, "viewer": 200, "outsider": 404, "staff": 404, "admin": 200}


@pytest.fixture
def execution(cast):
    execution = Execution.objects.create(
        runbook=cast.runbook, snapshot={"blocks": []}, status="running", triggered_by=cast.runner
    )
    StepRun.objects.create(
        execution=execution, position=0, block_key="logs", kind="command", status="running", started_at=timezone.now()
    )
    return execution


def write_lines(execution, count: int, *, secrets=()) -> StepRun:
    step = execution.steps.get()
    output = StepOutput(execution_id=execution.pk, step_run=step, secrets=list(secrets))
    for start in range(0, count, 500):
        output.write("".join(f"line {n}\n" for n in range(start, min(start + 500, count))))
        output._store()  # several chunks, as a chatty step makes
    output.flush()
    step.refresh_from_db()
    return step


def output_urls(execution, step) -> list[str]:
    return [
        f"/executions/{execution.pk}/steps/{step.pk}/output",
        f"/executions/{execution.pk}/steps/{step.pk}/output.txt",
    ]


@pytest.mark.parametrize("role", ROLES)
def test_full_output_routes_answer_each_role(cast, client_for, execution, role):
    step = write_lines(execution, 3)
    client = client_for(None if role == "anonymous" else getattr(cast, role))
    for url in output_urls(execution, step):
        answer = client.get(url)
        if role == "anonymous":
            assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
        else:
            assert answer.status_code == EXPECTED[role], url
        if answer.status_code != 200:
            body = answer.content if not answer.streaming else b"".join(answer.streaming_content)
            assert b"line 1" not in body
        # Read-only routes: anything but GET is refused (after the sign-in check).
        assert client.post(url).status_code == (302 if role == "anonymous" else 405)


def test_a_step_of_another_run_is_404(cast, client_for, execution):
    other = Execution.objects.create(runbook=cast.runbook, snapshot={"blocks": []}, triggered_by=cast.runner)
    step = write_lines(execution, 3)
    for url in output_urls(other, step):
        assert client_for(cast.owner).get(url).status_code == 404
    assert client_for(cast.owner).get(f"/executions/{execution.pk}/steps/999999/output").status_code == 404


def test_the_download_streams_every_stored_line_as_plain_text(cast, client_for, execution):
    step = write_lines(execution, 6000)
    answer = client_for(cast.viewer).get(output_urls(execution, step)[1])
    assert answer.streaming
    assert answer["Content-Type"] == "text/plain; charset=utf-8"
    assert answer["Content-Disposition"] == f'attachment; filename="run-{execution.pk}-logs.txt"'
    assert answer["Cache-Control"] == "private, no-store"
    assert b"".join(answer.streaming_content).decode() == "".join(f"line {n}\n" for n in range(6000))


def test_the_full_output_page_shows_every_line_escaped(cast, client_for, execution):
    step = execution.steps.get()
    OutputChunk.objects.create(step_run=step, seq=0, data="<script>alert(1)</script>\n\x1b[31mred")
    OutputChunk.objects.create(step_run=step, seq=1, data=" still red\x1b[0m\n")
    html = client_for(cast.viewer).get(output_urls(execution, step)[0]).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    # One conversion over the whole text: a colour spanning two chunks stays one span.
    assert '<span class="ansi-red">red still red</span>' in html
    assert "Download as text" in html


def test_a_masked_secret_stays_masked_on_both_full_output_routes(cast, client_for, execution):
    secret = "s3cr3t-value-in-output"
    step = write_lines(execution, 0)
    output = StepOutput(execution_id=execution.pk, step_run=step, secrets=[secret])
    output.write(f"token={secret}\n")
    output.flush()
    page, download = (client_for(cast.owner).get(url) for url in output_urls(execution, step))
    assert "token=***" in page.content.decode() and secret not in page.content.decode()
    text = b"".join(download.streaming_content).decode()
    assert text == "token=***\n"


def test_the_page_keeps_only_the_last_lines_and_links_to_the_rest(cast, client_for, execution):
    step = write_lines(execution, TAIL_LINES + 1500)
    html = client_for(cast.viewer).get(f"/executions/{execution.pk}/").content.decode()
    pane = re.search(
        rf'<pre class="output" id="output-{step.pk}" data-last-seq="(\d+)" data-lines="(\d+)">(.*?)</pre>', html, re.S
    )
    assert pane, "the output pane carries where the socket resumes"
    assert int(pane.group(1)) == step.next_seq - 1
    shown = re.findall(r"line (\d+)\n", pane.group(3))
    assert int(pane.group(2)) == len(shown) and TAIL_LINES <= len(shown) < TAIL_LINES + 500
    assert shown[-1] == str(TAIL_LINES + 1499) and "line 0\n" not in pane.group(3)
    assert shown == [str(n) for n in range(int(shown[0]), TAIL_LINES + 1500)], "no gap inside the tail"
    more = re.search(rf'<p class="output-more small" id="output-more-{step.pk}"([^>]*)>', html)
    assert more and "hidden" not in more.group(1)
    assert f'href="/executions/{execution.pk}/steps/{step.pk}/output"' in html


def test_a_short_output_is_shown_whole_without_the_link(cast, client_for, execution):
    step = write_lines(execution, 20)
    html = client_for(cast.viewer).get(f"/executions/{execution.pk}/").content.decode()
    assert "line 0\n" in html and "line 19\n" in html
    assert re.search(rf'id="output-more-{step.pk}"[^>]*hidden', html)


def test_a_running_page_connects_the_socket_and_a_final_one_does_not(cast, client_for, execution):
    client = client_for(cast.viewer)
    html = client.get(f"/executions/{execution.pk}/").content.decode()
    assert f'hx-ext="ws" ws-connect="/ws/executions/{execution.pk}/"' in html
    assert "django_htmx/ext/hx-ws-2" in html and "js/executions.js" in html
    assert 'id="live-banner"' in html and 'id="execution-title"' in html and 'id="execution-progress"' in html
    # Nothing from a CDN: every script is served from our static files.
    assert not re.search(r'<script[^>]+src="(https?:)?//', html)
    Execution.objects.filter(pk=execution.pk).update(status="succeeded", finished_at=timezone.now())
    html = client.get(f"/executions/{execution.pk}/").content.decode()
    assert "ws-connect" not in html and "hx-trigger" not in html


def test_a_waiting_gate_shows_its_buttons_on_the_page_and_in_each_persons_live_frame(cast, client_for, make_runbook):
    gate = {"key": "gate", "kind": "instruction", "config": {"markdown": "Check first.", "gate": "confirm"}}
    runbook = make_runbook(cast.owner, [gate])
    execution = run_now(execution_start(runbook=runbook, user=cast.runner))
    step = execution.steps.get()
    assert step.status == "waiting"
    html = client_for(cast.runner).get(f"/executions/{execution.pk}/").content.decode()
    slot = html[html.index(f'id="step-slot-{step.pk}"') :]
    assert "Waiting for someone with run rights to continue." in slot and 'value="continue"' in slot
    assert 'value="continue"' not in client_for(cast.viewer).get(f"/executions/{execution.pk}/").content.decode()
    # The socket's frame is rendered per person (consumers.py): the runner's has the buttons, the viewer's none.
    steps = execution_steps(execution)
    frame = state_frame_for(cast.runner, execution, steps)
    assert f'hx-swap-oob="innerHTML:#step-slot-{step.pk}"' in frame and 'value="continue"' in frame
    assert "hx-get" not in frame, "no loader fetches the buttons after the frame"
    assert "<button" not in state_frame_for(cast.viewer, execution, steps)
