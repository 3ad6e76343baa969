"""A run that ends while its page is open loses its Cancel button and shows its duration, live."""

from datetime import timedelta

from django.utils import timezone

from apps.executions.consumers import state_frame_for
from apps.executions.models import Execution, StepRun


def make_execution(cast, status: str) -> Execution:
    started = timezone.now() - timedelta(seconds=3)
    execution = Execution.objects.create(
        runbook=cast.runbook, draft=True, snapshot={"blocks": []}, status=status, triggered_by=cast.runner,
        started_at=started, finished_at=started + timedelta(seconds=2) if status == "succeeded" else None,
    )  # fmt: skip
    StepRun.objects.create(execution=execution, position=0, block_key="restart", kind="command", status=status)
    return execution


def test_the_final_frame_removes_the_cancel_controls_and_fills_the_duration(cast):
    execution = make_execution(cast, "succeeded")
    frame = state_frame_for(cast.runner, execution, list(execution.steps.all()))
    assert "Cancel run…" not in frame and 'id="execution-controls" hx-swap-oob="true"' in frame
    assert '<dd id="execution-duration" hx-swap-oob="true">2.0 s</dd>' in frame, "a final duration does not tick"


def test_a_running_frame_carries_the_viewers_own_controls(cast, client_for):
    execution = make_execution(cast, "running")
    steps = list(execution.steps.all())
    # Each socket renders for its own user: the runner's frame has Cancel, the viewer's has none.
    assert "Cancel run…" in state_frame_for(cast.runner, execution, steps)
    assert "Cancel run…" not in state_frame_for(cast.viewer, execution, steps)
    page = client_for(cast.runner).get(f"/executions/{execution.pk}/").content.decode()
    assert 'id="execution-controls"' in page and "Cancel run…" in page
    assert 'id="execution-duration" data-started-at="' in page, "a running duration ticks in the page"
