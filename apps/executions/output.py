"""Where a step's output goes: masked, batched into numbered chunks, capped, published live.

Memory stays bounded whatever a step prints: at most one batch (64 KiB plus the masker's held-back
tail) is held; past the cap, output is counted and dropped, never accumulated.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from apps.core.masking.masker import Masker
from apps.executions import streaming
from apps.executions.models import OutputChunk, StepRun

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 0.05
FLUSH_BYTES = 64 * 1024


def publish_chunk(execution_id: int, step_run_id: int, seq: int, text: str) -> None:
    try:
        streaming.publish_chunk(execution_id, step_run_id, seq, text)
    except Exception:
        # Live streaming is a convenience; the stored chunks are the record, so a run never fails on it.
        logger.warning("Could not publish output of step run %s", step_run_id, exc_info=True)


def publish_state(execution_id: int) -> None:
    try:
        streaming.publish_state(execution_id)
    except Exception:
        logger.warning("Could not publish the state of execution %s", execution_id, exc_info=True)


def _cut_to_bytes(text: str, limit: int) -> str:
    """The longest prefix of `text` whose UTF-8 encoding fits in `limit` bytes."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


class StepOutput:
    """The OutputSink of one step run (see apps.blocks.executors.base.OutputSink)."""

    def __init__(
        self,
        *,
        execution_id: int,
        step_run: StepRun,
        secrets: list[str],
        cap: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.execution_id = execution_id
        self.clock = clock  # injected by tests that must not depend on how fast the machine is
        self.step_run_id = step_run.pk
        self.masker = Masker(secrets)
        self.cap = settings.RUNBOOKS_OUTPUT_CAP_BYTES if cap is None else cap
        self.seq = step_run.next_seq
        self.stored_bytes = 0
        self.total_bytes = step_run.output_bytes
        self.truncated = step_run.output_truncated
        self._pending: list[str] = []
        self._pending_bytes = 0
        # Never stored yet: the first output of a step is stored (and shown) at once.
        self._last_flush = float("-inf")

    def mask_data(self, value: Any) -> Any:
        """The step's secrets masked out of a result or an error, by the same rule as its output."""
        return self.masker.mask_data(value)

    def write(self, text: str) -> None:
        """Take output as it comes and store it at once after a quiet spell; during a burst, at most
        every 50 ms or 64 KiB. write("") just lets time pass."""
        safe = self.masker.feed(text) if text else ""
        if safe:
            self._pending.append(safe)
            self._pending_bytes += len(safe.encode("utf-8"))
        if self._pending_bytes >= FLUSH_BYTES or (
            self._pending and self.clock() - self._last_flush >= FLUSH_INTERVAL_SECONDS
        ):
            self._store()

    def flush(self) -> None:
        """At the end of the step: release what the masker held back, and store everything."""
        rest = self.masker.flush()
        if rest:
            self._pending.append(rest)
            self._pending_bytes += len(rest.encode("utf-8"))
        self._store(final=True)

    def _store(self, *, final: bool = False) -> None:
        text = "".join(self._pending)
        size = self._pending_bytes
        self._pending, self._pending_bytes = [], 0
        self._last_flush = self.clock()
        self.total_bytes += size
        room = self.cap - self.stored_bytes
        was_truncated = self.truncated
        if size > room:
            text = _cut_to_bytes(text, max(room, 0))
            self.truncated = True
        if text:
            stored = len(text.encode("utf-8"))
            OutputChunk.objects.create(step_run_id=self.step_run_id, seq=self.seq, data=text)
            self.stored_bytes += stored
            self.seq += 1
            StepRun.objects.filter(pk=self.step_run_id).update(
                next_seq=self.seq, output_bytes=self.total_bytes, output_truncated=self.truncated
            )
            publish_chunk(self.execution_id, self.step_run_id, self.seq - 1, text)
        elif size or final or self.truncated != was_truncated:
            # Past the cap only the byte count (and the truncation mark) moves.
            StepRun.objects.filter(pk=self.step_run_id).update(
                output_bytes=self.total_bytes, output_truncated=self.truncated
            )
