"""The worker class (apps.executions.workers.InProcessWorker) against the real Redis: jobs run in the
worker's own process, and RQ's heartbeats keep going while a long job runs."""

import json
import os
import time
import uuid

import pytest
import redis
from django.conf import settings
from rq import Queue, get_current_job

from apps.automation.schedules import automation_start
from apps.executions.workers import InProcessWorker, reaper_ticks

# The worker closes stale database connections around each job: outside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_a_heartbeat_of_my_own() -> bool:
    """A job that ends once RQ recorded a heartbeat for it after it started (at most 10 s)."""
    job = get_current_job()
    first = job.connection.hget(job.key, "last_heartbeat")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if job.connection.hget(job.key, "last_heartbeat") != first:
            return True
        time.sleep(0.05)  # polls Redis: RQ offers no event for a heartbeat
    return False


@pytest.fixture
def connection():
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"the test Redis at settings.REDIS_URL is not reachable: {type(error).__name__}")
    yield client
    client.close()


def run_burst(connection, function, **worker_options):
    queue = Queue(f"test-in-process-{uuid.uuid4().hex[:8]}", connection=connection)
    job = queue.enqueue(function)
    InProcessWorker([queue], connection=connection, **worker_options).work(burst=True)
    job.refresh()
    return job


def test_the_worker_class_is_the_configured_one():
    assert settings.RQ["WORKER_CLASS"] == "apps.executions.workers.InProcessWorker"


def test_a_job_runs_in_the_worker_process(connection):
    job = run_burst(connection, os.getpid)
    assert job.get_status() == "finished"
    assert job.return_value() == os.getpid()


def test_heartbeats_go_on_while_a_long_job_runs(connection):
    job = run_burst(connection, wait_for_a_heartbeat_of_my_own, job_monitoring_interval=0.2)
    assert job.get_status() == "finished"
    assert job.return_value() is True


def my_worker_s_heartbeat() -> dict | None:
    """A job that returns the heartbeat its own worker wrote (waiting at most 10 s for the first)."""
    job = get_current_job()
    key = f"{settings.RUNBOOKS_WORKER_HEARTBEAT_PREFIX}{job.worker_name}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        raw = job.connection.get(key)
        if raw is not None:
            return json.loads(raw)
        time.sleep(0.05)  # polls Redis: the heartbeat thread starts with the worker, beside this job
    return None


def test_a_worker_reports_its_own_docker_check_in_its_heartbeat_and_clears_it_when_it_stops(
    connection, docker_engine, settings
):
    settings.RUNBOOKS_WORKER_HEARTBEAT_PREFIX = f"test-heartbeat-{uuid.uuid4().hex[:12]}:"
    job = run_burst(connection, my_worker_s_heartbeat)
    assert job.get_status() == "finished"
    heartbeat = job.return_value()
    assert heartbeat is not None, "the worker wrote no heartbeat"
    assert heartbeat["worker"] == job.worker_name and heartbeat["docker"] is None
    assert not list(connection.scan_iter(match=f"{settings.RUNBOOKS_WORKER_HEARTBEAT_PREFIX}*"))


def test_a_worker_that_cannot_reach_docker_says_so(connection, settings, tmp_path):
    settings.RUNBOOKS_WORKER_HEARTBEAT_PREFIX = f"test-heartbeat-{uuid.uuid4().hex[:12]}:"
    settings.DOCKER_HOST = f"unix://{tmp_path}/docker.sock"
    heartbeat = run_burst(connection, my_worker_s_heartbeat).return_value()
    assert heartbeat is not None and heartbeat["docker"] == "DockerException"


def test_automation_s_schedule_tick_rides_in_the_reaper_process():
    # Registered by automation's AppConfig.ready(): executions, below it, never imports it.
    assert automation_start in reaper_ticks()
