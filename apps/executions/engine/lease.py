"""What a claimed run holds while it is walked: a lease renewed by a heartbeat, and a cheap watch
for a cancel request."""

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from apps.executions.models import Execution, ExecutionStatus

logger = logging.getLogger(__name__)

LEASE_SECONDS = 30
HEARTBEAT_SECONDS = 10
# How often the walk looks for a cancel request while a step runs; cancel must act within 5 s.
CANCEL_POLL_SECONDS = 1.0


def worker_name() -> str:
    return f"{socket.gethostname()}/{os.getpid()}"


def lease_until():
    return timezone.now() + timedelta(seconds=LEASE_SECONDS)


class Heartbeat(threading.Thread):
    """Renews the run's lease while the walk holds it.

    The worker runs jobs in its own process (apps.executions.workers), so a worker killed even by SIGKILL
    takes its walk and this thread with it: the lease runs out and the reaper marks the run
    incomplete and removes its container.
    """

    def __init__(self, execution_id: int, name: str):
        super().__init__(name=f"heartbeat-{execution_id}", daemon=True)
        self.execution_id = execution_id
        self.worker = name
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                self.renew()
        finally:
            connection.close()

    def renew(self) -> None:
        try:
            Execution.objects.filter(
                pk=self.execution_id, status=ExecutionStatus.RUNNING, worker_name=self.worker
            ).update(lease_expires_at=lease_until())
        except Exception:
            # A missed renewal is harmless (the lease is three beats long); the next one retries.
            logger.warning("Lease renewal of execution %s failed", self.execution_id, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


class CancelWatch:
    """is_cancelled() for executors: a cheap read of cancel_requested_at, at most once a second."""

    def __init__(self, execution_id: int):
        self.execution_id = execution_id
        self.cancelled = False
        self._checked = 0.0

    def __call__(self) -> bool:
        if not self.cancelled and time.monotonic() - self._checked >= CANCEL_POLL_SECONDS:
            self._checked = time.monotonic()
            self.cancelled = Execution.objects.filter(pk=self.execution_id, cancel_requested_at__isnull=False).exists()
        return self.cancelled

    def now(self) -> bool:
        self._checked = 0.0
        return self()
