"""Two real `manage.py worker` processes and a schedule every minute, for about three minutes of real time:
each fire time starts exactly one run (the database's unique (schedule, fire time) row decides, not a lock
in memory). Slow by nature: the schedule's unit is the minute (5-field cron), so the clock is real here
and time-machine everywhere else (test_schedules.py)."""

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from apps.automation.models import ScheduleFire, ScheduleFireOutcome
from apps.automation.schedules import schedule_create
from apps.executions.models import Execution

ROOT = Path(__file__).resolve().parents[2]
FIRES_WANTED = 3


def database_url() -> str:
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("two worker processes need a database server; SQLite's test file is this process's")
    return (
        f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


@pytest.fixture
def workers(tmp_path):
    processes = []

    def start(count: int) -> None:
        environment = os.environ | {
            "DJANGO_SETTINGS_MODULE": "runbooks_site.settings.test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
        }
        for index in range(count):
            log = open(tmp_path / f"worker-{index}.log", "wb")  # noqa: SIM115 - open for the process's lifetime
            command = [sys.executable, "manage.py", "worker", "--concurrency", "1", "--name", f"twin-{index}"]
            processes.append((subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=log,
                                               start_new_session=True), log))  # fmt: skip

    yield start
    for process, _log in processes:
        os.killpg(process.pid, signal.SIGTERM)
    for process, log in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()


@pytest.mark.timeout(420)
def test_two_workers_start_exactly_one_run_per_fire_time(transactional_db, cast, make_runbook, workers):
    runbook = make_runbook(cast.owner, [{"key": "note", "kind": "instruction", "config": {"markdown": "Tick."}}])
    schedule = schedule_create(runbook=runbook, user=cast.editor, data={"cron": "* * * * *"})
    workers(2)

    deadline = time.monotonic() + 300
    while (snapshot := consistent(schedule)) is None:
        assert time.monotonic() < deadline, diagnostics(schedule)
        time.sleep(1)  # the next fire time is up to a minute away; nothing can notify this test
    fires = snapshot

    assert [fire.outcome for fire in fires] == [ScheduleFireOutcome.STARTED] * len(fires), [f.reason for f in fires]
    # Consecutive minutes, none missed, none twice.
    minutes = [fire.fire_at for fire in fires]
    assert all((later - earlier).total_seconds() == 60 for earlier, later in itertools.pairwise(minutes))
    assert Counter(fire.fire_at for fire in fires).most_common(1)[0][1] == 1


def consistent(schedule) -> list[ScheduleFire] | None:
    """The fires once there are FIRES_WANTED and the runs of the schedule are exactly the fires' runs.

    A worker claims a fire time by inserting its row, then starts the run, then links it: read in
    between, a fire has no run yet, or a run no fire. Those gaps close within a moment; a second run
    for one fire time (what this test is for) never has a fire of its own, so it never reads as consistent.
    """
    fires = list(ScheduleFire.objects.filter(schedule=schedule).order_by("fire_at"))
    runs = set(Execution.objects.filter(schedule=schedule).values_list("pk", flat=True))
    linked = {fire.execution_id for fire in fires}
    if len(fires) < FIRES_WANTED or None in linked or runs != linked or len(linked) != len(fires):
        return None
    return fires


def diagnostics(schedule) -> dict:
    return {
        "fires": list(
            ScheduleFire.objects.filter(schedule=schedule).values("fire_at", "outcome", "worker", "execution")
        ),
        "runs": list(Execution.objects.filter(schedule=schedule).values_list("pk", flat=True)),
    }
