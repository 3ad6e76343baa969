"""The output sink: masking across chunk boundaries, numbered chunks, the cap, bounded batches."""

import pytest

from apps.executions.models import OutputChunk
from apps.executions.output import FLUSH_BYTES, StepOutput
from apps.executions.services.start import execution_start
from tests.support.executions import command

SECRET = "s3cret-value-42"


@pytest.fixture
def step_run(cast, make_runbook):
    runbook = make_runbook(cast.owner, [command("one", "true")])
    return execution_start(runbook=runbook, user=cast.runner).steps.get()


def stored(step_run) -> str:
    return "".join(OutputChunk.objects.filter(step_run=step_run).order_by("seq").values_list("data", flat=True))


def test_a_secret_split_across_writes_is_masked(step_run):
    sink = StepOutput(execution_id=step_run.execution_id, step_run=step_run, secrets=[SECRET])
    for character in f"token={SECRET}; done\n":
        sink.write(character)
    sink.flush()
    assert stored(step_run) == "token=***; done\n"
    assert all(SECRET[:6] not in data for data in OutputChunk.objects.values_list("data", flat=True))


def test_chunks_are_numbered_in_order(step_run):
    # A stopped clock: only the 64 KiB batches store, however slowly a loaded machine runs the writes.
    sink = StepOutput(execution_id=step_run.execution_id, step_run=step_run, secrets=[], clock=lambda: 0.0)
    for number in range(3):
        sink.write("x" * FLUSH_BYTES)  # each write fills a batch
        sink.write(f"{number}\n")
    sink.flush()
    step_run.refresh_from_db()
    assert list(OutputChunk.objects.filter(step_run=step_run).values_list("seq", flat=True)) == [0, 1, 2, 3]
    assert step_run.next_seq == 4
    assert stored(step_run).endswith("2\n")


def test_past_the_cap_output_is_counted_and_marked_not_stored(step_run):
    sink = StepOutput(execution_id=step_run.execution_id, step_run=step_run, secrets=[], cap=10)
    sink.write("0123456789abcdef")
    sink.flush()
    for _ in range(100):
        sink.write("more\n")
    sink.flush()
    step_run.refresh_from_db()
    assert stored(step_run) == "0123456789"
    assert step_run.output_truncated is True and step_run.output_bytes == 16 + 500


def test_the_cap_never_splits_a_character(step_run):
    sink = StepOutput(execution_id=step_run.execution_id, step_run=step_run, secrets=[], cap=5)
    sink.write("aaaé€")  # 3 + 2 + 3 bytes
    sink.flush()
    assert stored(step_run) == "aaaé"


def test_the_held_batch_stays_bounded_whatever_is_printed(step_run):
    sink = StepOutput(execution_id=step_run.execution_id, step_run=step_run, secrets=[], cap=1024)
    for _ in range(200):
        sink.write("y" * 4096)
        assert sink._pending_bytes < FLUSH_BYTES
    sink.flush()
    step_run.refresh_from_db()
    assert step_run.output_bytes == 200 * 4096 and len(stored(step_run)) == 1024
