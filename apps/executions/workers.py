"""The RQ worker class of `manage.py worker` (and of `rqworker`, through settings.RQ), and the pool
that runs N of them.

RQ's default worker forks a work horse per job: Django, the database connection, the channel
layer's event loop and the Docker client are all set up again for every run (≈100 ms before a
step can start), and a horse outlives a SIGKILLed worker. This worker runs each job in its own
process, as RQ's SimpleWorker does, and, like the forking worker's monitor loop, keeps RQ's
worker and job heartbeats going while a long job runs (SimpleWorker sets them once per job).
It is also what lets the warm container pool (apps.sandbox.warm) outlive a single job.

`worker --concurrency N` runs N of these through RQ's own WorkerPool (one process each, forked
from the command's process once Django is set up), plus one reaper process: the reaper works for
the whole host, so it runs once, not N times. Upper layers add their own periodic work to that
process (automation's schedule tick) with reaper_tick_register() from their AppConfig.ready(). The command's process only supervises: it has no
thread of its own, so forking a replacement for a dead worker never copies a held lock.
"""

import ctypes
import ctypes.util
import logging
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing import get_context
from uuid import uuid4

from django.db import close_old_connections, connections
from rq.worker import SimpleWorker, WorkerStatus
from rq.worker_pool import WorkerData, WorkerPool, run_worker

from apps.core.heartbeats import HEARTBEAT_SECONDS, heartbeat_connection, worker_heartbeat_clear, worker_heartbeat_write
from apps.executions.reaper import reaper_loop
from apps.sandbox import warm
from apps.sandbox.client import check_docker

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1

# start(stop=event): starts a periodic tick in a thread of the reaper process, ending when `stop`
# is set. Registered by layers above this one (they may import executions; it never imports them).
_reaper_ticks: list[Callable[..., object]] = []


def reaper_tick_register(start: Callable[..., object]) -> None:
    """Run `start(stop=event)` in every reaper process, beside the reaper loop (once per start)."""
    if start not in _reaper_ticks:
        _reaper_ticks.append(start)


def reaper_ticks() -> tuple[Callable[..., object], ...]:
    return tuple(_reaper_ticks)


def die_with_parent(parent_pid: int) -> None:
    """A pool's processes go when the pool's process goes, even by SIGKILL: a worker left behind
    would keep running steps nobody supervises (Linux; elsewhere the leases still expire)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError, TypeError):
        pass
    if os.getppid() != parent_pid:
        # The parent died before prctl took effect.
        os._exit(1)


class WorkerHeartbeatThread(threading.Thread):
    """This worker's heartbeat (apps.core.heartbeats) with its own check of the Docker engine, at
    start and every `interval` seconds; stop() clears it, so a stopped worker is gone at once."""

    def __init__(self, worker: str, interval: float = HEARTBEAT_SECONDS):
        super().__init__(name=f"heartbeat-{worker}", daemon=True)
        self.worker = worker
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        connection = heartbeat_connection()
        try:
            while True:
                try:
                    worker_heartbeat_write(connection=connection, worker=self.worker, docker=check_docker())
                except Exception:
                    logger.warning("Could not write the heartbeat of worker %s", self.worker, exc_info=True)
                if self.stopped.wait(self.interval):
                    break
            worker_heartbeat_clear(connection=connection, worker=self.worker)
        except Exception:
            logger.warning("Could not clear the heartbeat of worker %s", self.worker, exc_info=True)
        finally:
            connection.close()

    def stop(self, timeout: float = 5) -> None:
        self.stopped.set()
        self.join(timeout=timeout)


# How long an idle worker's BLPOP waits for a job before it looks again (RQ's default: 405 s).
# Python runs signal handlers in the main thread only, and a SIGTERM the kernel hands to another
# thread (heartbeat, warm upkeep, RQ's pubsub) does not wake the main thread from that BLPOP: the
# handler runs when it returns. So this bounds how long an idle worker can take to see a stop.
DEQUEUE_TIMEOUT_SECONDS = 5


class InProcessWorker(SimpleWorker):
    @property
    def dequeue_timeout(self) -> int:
        return DEQUEUE_TIMEOUT_SECONDS

    def work(self, *args, **kwargs) -> bool:
        # Each worker process keeps its own warm spares fresh, and removes them when it stops; and
        # tells /healthz, which cannot reach Docker itself, whether it can.
        stop_upkeep = warm.upkeep_start()
        heartbeat = WorkerHeartbeatThread(self.name)
        heartbeat.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            heartbeat.stop()
            stop_upkeep.set()
            warm.pool.shutdown()

    def execute_job(self, job, queue) -> None:
        execution = self.prepare_execution(job)
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.job_monitoring_interval):
                try:
                    self.maintain_heartbeats(job, execution)
                except Exception:
                    logger.warning("Could not renew RQ heartbeats of job %s", job.id, exc_info=True)

        heartbeat = threading.Thread(target=beat, name=f"rq-heartbeat-{job.id}", daemon=True)
        heartbeat.start()
        # A job must not inherit a connection the database closed since the last one (restarts, CONN_MAX_AGE).
        close_old_connections()
        try:
            self.perform_job(job, queue, execution)
        finally:
            stop.set()
            heartbeat.join(timeout=5)
            close_old_connections()
        self.set_state(WorkerStatus.IDLE)


def _worker_process(parent_pid: int, *args, **kwargs) -> None:
    die_with_parent(parent_pid)
    run_worker(*args, **kwargs)


def _reaper_process(parent_pid: int) -> None:
    die_with_parent(parent_pid)
    stop = threading.Event()

    def request_stop(signum, frame) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    for start in reaper_ticks():
        start(stop=stop)
    reaper_loop(stop)


class ExecutionWorkerPool(WorkerPool):
    """RQ's WorkerPool of InProcessWorkers, with one reaper process beside them.

    Signals are RQ's: SIGINT or SIGTERM to the pool stops every worker warmly (each finishes the
    run it holds, then exits; a second signal a second later is a cold stop, and a run cut short
    becomes `incomplete` when its lease expires); Ctrl-C reaches every process of the group at once,
    which RQ's workers take as one request. Every process dies with the pool's process (SIGKILL
    included): their runs' leases then expire and any reaper marks them incomplete.
    """

    def __init__(self, *args, name_prefix: str | None = None, with_reaper: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.name_prefix = name_prefix
        self.with_reaper = with_reaper
        self.reaper = None

    def get_worker_process(self, name: str, burst: bool, _sleep: float = 0, logging_level: str = "INFO"):
        """RQ's worker process, started through a wrapper that ties it to this process."""
        return get_context("fork").Process(
            target=_worker_process,
            args=(os.getpid(), name, self._queue_names, self._connection_class, self._pool_class, self._pool_kwargs),
            kwargs={
                "_sleep": _sleep,
                "burst": burst,
                "logging_level": logging_level,
                "worker_class": self.worker_class,
                "job_class": self.job_class,
                "queue_class": self.queue_class,
                "serializer": self.serializer,
                "exception_handlers": self.exception_handlers,
            },
            name=f"Worker {name} (WorkerPool {self.name})",
        )

    def start_worker(self, count: int | None = None, burst: bool = True, _sleep: float = 0, logging_level="INFO"):
        name = f"{self.name_prefix}-{uuid4().hex[:8]}" if self.name_prefix else uuid4().hex
        # No database connection may be shared with a forked child.
        connections.close_all()
        process = self.get_worker_process(name, burst=burst, _sleep=_sleep, logging_level=logging_level)
        process.start()
        self.worker_dict[name] = WorkerData(name=name, pid=process.pid, process=process)
        self.log.debug("Spawned worker %s with PID %d", name, process.pid)

    def start_workers(self, burst: bool = True, _sleep: float = 0, logging_level: str = "INFO"):
        super().start_workers(burst=burst, _sleep=_sleep, logging_level=logging_level)
        if self.with_reaper and not burst:
            self._start_reaper()

    def _start_reaper(self) -> None:
        connections.close_all()
        self.reaper = get_context("fork").Process(target=_reaper_process, args=(os.getpid(),), name="reaper")
        self.reaper.start()
        self.log.info("Reaper started with PID %d", self.reaper.pid)

    def check_workers(self, respawn: bool = True) -> None:
        super().check_workers(respawn=respawn)
        if self.reaper is not None and not self.reaper.is_alive() and respawn and self.status != self.Status.STOPPED:
            self.reaper.join(0)
            self.log.warning("Reaper process %d died; starting another", self.reaper.pid)
            self._start_reaper()

    def stop_workers(self) -> None:
        super().stop_workers()
        if self.reaper is not None and self.reaper.is_alive():
            try:
                os.kill(self.reaper.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def all_workers_have_stopped(self) -> bool:
        if self.reaper is not None:
            self.reaper.join(0.1)
            if self.reaper.is_alive():
                self.reap_workers()
                return False
        return super().all_workers_have_stopped()
