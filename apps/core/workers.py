"""The RQ worker class of `manage.py worker` (and of `rqworker`, through settings.RQ).

RQ's default worker forks a work horse per job: Django, the database connection, the channel
layer's event loop and the Docker client are all set up again for every run (≈100 ms before a
step can start), and a horse outlives a SIGKILLed worker. This worker runs each job in its own
process, as RQ's SimpleWorker does, and, like the forking worker's monitor loop, keeps RQ's
worker and job heartbeats going while a long job runs (SimpleWorker sets them once per job).
It is also what lets the warm container pool (apps.executions.warm) outlive a single job.
"""

import logging
import threading

from django.db import close_old_connections
from rq.worker import SimpleWorker, WorkerStatus

logger = logging.getLogger(__name__)


class InProcessWorker(SimpleWorker):
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
