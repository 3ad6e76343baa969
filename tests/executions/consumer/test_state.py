"""State frames over the execution socket: live regions re-rendered, the final state closing the socket, and each
user's own gate buttons, which post with a valid CSRF token."""

import re

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from apps.executions.models import Execution, StepRun
from apps.executions.streaming import publish_state
from tests.support.output import first_step, store
from tests.support.sockets import STATUS, communicator, connected, frames_until, run


def test_state_changes_rerender_the_live_regions_and_the_final_state_closes_the_socket(
    cast, execution, client_for, viewer_headers
):
    step = first_step(execution)
    second = execution.steps.get(position=1)

    async def scenario():
        socket, texts = await connected(execution, viewer_headers)
        first = "".join(texts)
        assert 'data-status="running"' in first and "0 of 2 steps done" in first and 'class="spinner live"' in first

        await sync_to_async(StepRun.objects.filter(pk=step.pk).update)(
            status="succeeded", exit_code=0, finished_at=timezone.now()
        )
        await sync_to_async(StepRun.objects.filter(pk=second.pk).update)(status="running", started_at=timezone.now())
        await sync_to_async(publish_state)(execution.pk)
        texts, _ = await frames_until(socket, lambda text: STATUS in text)
        state = "".join(texts)
        assert "1 of 2 steps done" in state and "exit 0" in state
        assert re.search(rf'id="step-state-{second.pk}"[^>]*data-status="running"', state)
        assert f'hx-swap-oob="innerHTML:#step-slot-{second.pk}"' in state, "each step's body is re-rendered too"

        await sync_to_async(StepRun.objects.filter(pk=second.pk).update)(
            status="failed", exit_code=3, finished_at=timezone.now()
        )
        await sync_to_async(Execution.objects.filter(pk=execution.pk).update)(
            status="failed", error="Step two failed: exit code 3", finished_at=timezone.now()
        )
        await sync_to_async(publish_state)(execution.pk)
        texts, closed = await frames_until(socket, lambda text: False, timeout=5)
        final = "".join(texts)
        assert 'data-final="1"' in final and "Step two failed: exit code 3" in final and "2 of 2 steps done" in final
        assert "Failed · Run #" in final
        assert closed == {"type": "websocket.close", "code": 1000}

    run(scenario)


def test_a_finished_execution_sends_its_backlog_and_closes(cast, execution, client_for, viewer_headers):
    store(execution, "all done\n")
    Execution.objects.filter(pk=execution.pk).update(status="succeeded")

    async def scenario():
        socket = communicator(execution, viewer_headers)
        await socket.connect()
        texts, closed = await frames_until(socket, lambda text: False, timeout=5)
        assert "all done" in "".join(texts) and 'data-final="1"' in "".join(texts)
        assert closed == {"type": "websocket.close", "code": 1000}

    run(scenario)


def gate_execution(cast, gate: str) -> Execution:
    """A run of cast.runbook started by the runner, waiting at a `gate` instruction."""
    execution = Execution.objects.create(
        runbook=cast.runbook,
        snapshot={"blocks": []},
        status="waiting",
        triggered_by=cast.runner,
        started_at=timezone.now(),
    )
    StepRun.objects.create(
        execution=execution,
        position=0,
        block_key="gate",
        kind="instruction",
        status="waiting",
        started_at=timezone.now(),
        result={"gate": gate, "wait": {"reason": gate}},
    )
    return execution


def page_headers(client_for, user, execution) -> tuple[list[tuple[bytes, bytes]], object]:
    """The cookies a browser has after loading the run's page: session and CSRF."""
    client = client_for(user)
    client.get(f"/executions/{execution.pk}/")
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    return [(b"origin", b"http://testserver"), (b"host", b"testserver"), (b"cookie", cookies.encode())], client


@pytest.mark.parametrize(
    ("gate", "role", "buttons"),
    [
        ("confirm", "runner", ["continue", "reject"]),
        ("confirm", "editor", ["continue", "reject"]),
        ("confirm", "viewer", []),
        ("approval", "runner", ["reject"]),  # the starter: not their own approval
        ("approval", "editor", ["approve", "reject"]),
    ],
)
def test_each_socket_gets_its_own_users_buttons_in_the_state_frame(
    cast, client_for, transactional_db, gate, role, buttons
):
    execution = gate_execution(cast, gate)
    headers, _ = page_headers(client_for, getattr(cast, role), execution)

    async def scenario():
        socket, texts = await connected(execution, headers)
        await socket.disconnect()
        return "".join(texts)

    frame = run(scenario)
    assert re.findall(r'name="decision" value="(\w+)"', frame) == buttons
    assert ("Cancel run…" in frame) is (role != "viewer")
    assert ("you cannot approve it" in frame) is (gate == "approval" and role == "runner")
    assert "hx-get" not in frame, "no loader: the frame itself carries the buttons"


def test_a_button_from_a_live_frame_posts_with_a_valid_csrf_token(cast, client_for, transactional_db):
    execution = gate_execution(cast, "confirm")
    headers, client = page_headers(client_for, cast.editor, execution)

    async def scenario():
        socket, texts = await connected(execution, headers)
        await socket.disconnect()
        return "".join(texts)

    frame = run(scenario)
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', frame).group(1)
    # A browser without JavaScript posts the form as the frame rendered it: CSRF checks are on.
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    answer = strict.post(
        f"/executions/{execution.pk}/decide", {"csrfmiddlewaretoken": token, "step": "gate", "decision": "continue"}
    )
    assert answer.status_code == 302
    assert StepRun.objects.get(execution=execution).status == "succeeded"
