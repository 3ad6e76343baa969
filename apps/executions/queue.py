"""The one module that knows RQ: queue names, job ids, ping, enqueue, schedule, unschedule, and
whether a job will still reach a worker.

Queue names come from settings.RUNBOOKS_QUEUES (a role → name map): production uses "executions"
and "default"; the test settings give each pytest-xdist worker its own, so one worker emptying or
inspecting its queue never sees the other's jobs. Every Redis failure leaves this module as
QueueUnavailable (a ServiceUnavailable naming the Redis it could not reach), so callers handle one
error and never import redis or rq.

Jobs are named by their dotted path: this module needs no import of the engine they call, and the
engine can schedule its own continuation through it.
"""

from datetime import datetime, timedelta

import django_rq
import redis
from django.conf import settings
from rq.exceptions import NoSuchJobError
from rq.job import Job

from apps.core.errors import ServiceUnavailable

RUN_JOB = "apps.executions.jobs.run_execution"
RESUME_JOB = "apps.executions.jobs.resume_execution"
BUILD_JOB = "apps.environments.jobs.build_environment"
# RQ job states in which the job will still reach (or is in) a worker.
LIVE_JOB_STATES = {"queued", "scheduled", "deferred", "started"}


class QueueUnavailable(ServiceUnavailable):
    """Redis could not be reached (or answered with an error) for a queue operation."""


def queue_name(role: str) -> str:
    """The RQ queue name of a role ("executions", "default") in this deployment (or test worker)."""
    return settings.RUNBOOKS_QUEUES[role]


def executions_queue():
    return django_rq.get_queue(queue_name("executions"))


def default_queue():
    """Everything that must never take a run's place: notifications, image builds."""
    return django_rq.get_queue(queue_name("default"))


def redis_connection():
    """The queues' Redis, for the project's own keys (see redis_key)."""
    return executions_queue().connection


def redis_key(*parts) -> str:
    """A key of the project's own in Redis: prefixed per deployment (and per test worker)."""
    return ":".join([settings.RUNBOOKS_REDIS_PREFIX, *(str(part) for part in parts)])


def run_job_id(execution_id: int) -> str:
    """A run's one job: written once, so a second enqueue of the same run replaces nothing."""
    return f"execution-{execution_id}"


def timer_job_id(execution_id: int, step_run_id: int) -> str:
    """The scheduled resume of a timer step: a fixed id, so skipping the timer can unschedule it."""
    return f"execution-{execution_id}-timer-{step_run_id}"


def _redis_location(connection) -> str:
    kwargs = connection.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return str(kwargs["path"])
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def _unavailable(queue) -> QueueUnavailable:
    return QueueUnavailable(f"Could not queue the run: Redis is not reachable at {_redis_location(queue.connection)}.")


def queue_ping() -> None:
    """Before anything is written: a run (or a decision) that could never be queued must not stick."""
    queue = executions_queue()
    try:
        queue.connection.ping()
    except redis.RedisError:
        raise _unavailable(queue) from None


def enqueue_run(execution_id: int) -> None:
    """(Re-)enqueue a queued run under its fixed job id; a second job of one run is harmless (the
    claim lets one through), a missing one is not."""
    queue = executions_queue()
    try:
        queue.enqueue(RUN_JOB, execution_id, job_id=run_job_id(execution_id), job_timeout=-1)
    except redis.RedisError:
        raise _unavailable(queue) from None


def enqueue_resume(execution_id: int, *, job_id: str | None = None) -> None:
    """Continue a waiting run now (a decision taken, a timer over or skipped)."""
    queue = executions_queue()
    try:
        queue.enqueue(RESUME_JOB, execution_id, job_id=job_id, job_timeout=-1)
    except redis.RedisError:
        raise _unavailable(queue) from None


def timer_due(until: datetime) -> datetime:
    """When to schedule a timer's continuation: RQ's scheduler keeps whole seconds (it truncates),
    so a continuation scheduled at 12:00:00.9 would come at 12:00:00, before the timer is over,
    find it still running and leave the run waiting with nothing left to wake it. Round up."""
    if until.microsecond:
        return until.replace(microsecond=0) + timedelta(seconds=1)
    return until


def schedule_timer(execution_id: int, step_run_id: int, until: datetime) -> None:
    """The resume of a timer step at its due time, under the timer's fixed id (see unschedule_timer).
    Nothing else holds the run meanwhile."""
    queue = executions_queue()
    try:
        queue.enqueue_at(
            timer_due(until), RESUME_JOB, execution_id, job_id=timer_job_id(execution_id, step_run_id), job_timeout=-1
        )
    except redis.RedisError:
        raise _unavailable(queue) from None


def unschedule_timer(execution_id: int, step_run_id: int) -> None:
    queue = executions_queue()
    try:
        queue.scheduled_job_registry.remove(timer_job_id(execution_id, step_run_id), delete_job=True)
    except redis.RedisError:
        raise _unavailable(queue) from None


def enqueue_build(environment_id: int) -> None:
    """An environment's image build, on the default queue under a fixed id (one build at a time)."""
    queue = default_queue()
    try:
        queue.enqueue(BUILD_JOB, environment_id, job_id=f"environment-build-{environment_id}", job_timeout=1800)
    except redis.RedisError:
        raise _unavailable(queue) from None


def job_state(job_id: str) -> str | None:
    """The RQ status of a job ("queued", "finished" …), or None when Redis has no such job."""
    queue = executions_queue()
    try:
        status = Job.fetch(job_id, connection=queue.connection).get_status(refresh=False)
    except NoSuchJobError:
        return None
    except redis.RedisError:
        raise _unavailable(queue) from None
    return getattr(status, "value", status)


def job_is_live(job_id: str) -> bool:
    """Whether the job will still reach (or is in) a worker."""
    return job_state(job_id) in LIVE_JOB_STATES
