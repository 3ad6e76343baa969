"""Schedules fire in production: `manage.py worker --concurrency N` ticks them from its one reaper
process (once per host), not from each of its N worker processes, and the run they start runs."""

from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.utils import timezone
from rq import Worker

from apps.automation.models import Schedule, ScheduleFire, ScheduleFireOutcome
from apps.automation.schedules import schedule_create
from apps.executions.models import Execution
from tests.executions.concurrency.conftest import WORKER_REDIS_URL, statuses, wait_for
from tests.support.executions import command

pytestmark = pytest.mark.django_db(transaction=True)


def parent_of(pid: int) -> int:
    # /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after its ")".
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_a_due_schedule_fires_once_from_the_reaper_process_of_a_pool(cast, make_runbook, start_worker):
    runbook = make_runbook(cast.owner, [command("tick", "echo scheduled")], title="Scheduled")
    schedule = schedule_create(runbook=runbook, user=cast.owner, data={"cron": "* * * * *"})
    # The last minute's fire time is due now (within the grace), as after a worker's restart.
    Schedule.objects.filter(pk=schedule.pk).update(last_fire_at=timezone.now() - timedelta(minutes=2))

    worker = start_worker(3)
    fire = wait_for(
        # The fire is claimed (outcome started) before its run is created and linked: wait for the link.
        lambda: ScheduleFire.objects.filter(
            schedule=schedule, outcome=ScheduleFireOutcome.STARTED, execution__isnull=False
        ).first(),
        90,  # the reaper starts after the workers register; a loaded 2-core machine takes its time
        "the schedule to fire",
    )
    (execution,) = Execution.objects.filter(runbook=runbook)
    wait_for(lambda: statuses([execution]) == ["succeeded"], 60, "the scheduled run to succeed")

    # The tick ran in the pool's reaper: a child of the command's process that is none of its workers.
    host, _, pid = fire.worker.rpartition(":")
    worker_pids = {w.pid for w in Worker.all(connection=redis.Redis.from_url(WORKER_REDIS_URL))}
    assert host and int(pid) not in worker_pids
    assert parent_of(int(pid)) == worker.process.pid
    # Ticks went on while the run ran (every 5 s): still one run for that fire time.
    assert ScheduleFire.objects.filter(schedule=schedule, outcome=ScheduleFireOutcome.STARTED).count() == 1
    assert Execution.objects.filter(runbook=runbook).count() == 1
