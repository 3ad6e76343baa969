"""Timer steps ask the engine to wait; they never sleep in the worker."""

from datetime import timedelta

from django.utils import timezone

from apps.blocks.executors.timer import execute


def test_a_timer_returns_a_wait_until_now_plus_its_seconds(make_ctx):
    before = timezone.now()
    ctx = make_ctx("timer", {"seconds": 90})
    outcome = execute(ctx)
    after = timezone.now()
    assert outcome.status == "waiting"
    assert outcome.wait.reason == "timer"
    assert before + timedelta(seconds=90) <= outcome.wait.until <= after + timedelta(seconds=90)
    assert "Waiting 90 s" in ctx.output.text
