"""Timeouts, the response cap and cancellation of API call steps, with real local servers."""

import time
import tracemalloc

import pytest

from apps.blocks.executors.api_call import execute
from tests.blocks.test_api_call import api_config

pytestmark = pytest.mark.usefixtures("allow_local")


def test_a_server_that_never_answers_ends_timed_out(listener, make_ctx):
    ctx = make_ctx("api_call", api_config(f"http://127.0.0.1:{listener.port}/", timeout_seconds=1))
    started = time.monotonic()
    outcome = execute(ctx)
    assert outcome.status == "timed_out"
    assert outcome.error.startswith("No complete answer within 1 s")
    assert time.monotonic() - started < 5
    assert listener.connections == 1


def test_a_50_mib_response_is_cut_at_the_cap_with_bounded_memory(http_server, make_ctx):
    ctx = make_ctx("api_call", api_config(f"{http_server.url}/big"))
    tracemalloc.start()
    try:
        outcome = execute(ctx)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.status == "succeeded"
    assert outcome.result["body_truncated"] is True
    assert len(outcome.result["body"]) == 1024 * 1024
    # The body is not JSON once cut, so nothing is parsed.
    assert outcome.result["json"] is None
    assert "the body was cut at 1,048,576 bytes" in ctx.output.text
    # The kept MiB exists a few times over (bytes, text, result); 50 MiB never does.
    assert peak < 12 * 1024 * 1024, f"peak {peak:,} bytes"


def test_the_cap_comes_from_settings(http_server, make_ctx, settings):
    settings.RUNBOOKS_API_RESPONSE_CAP_BYTES = 10
    outcome = execute(make_ctx("api_call", api_config(f"{http_server.url}/json")))
    assert outcome.result["body"] == '{"status":'
    assert outcome.result["body_truncated"] is True
    assert outcome.result["json"] is None


def test_a_cancel_during_the_response_stops_reading(http_server, make_ctx):
    ctx = make_ctx("api_call", api_config(f"{http_server.url}/big"), cancelled=lambda: True)
    outcome = execute(ctx)
    assert outcome.status == "cancelled"
    assert outcome.result == {}
