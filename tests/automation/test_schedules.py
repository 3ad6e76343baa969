"""Schedules: validation, next fire times, and exactly one run per fire time (time-machine as the clock)."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse

from apps.automation.models import Schedule, ScheduleFire
from apps.automation.schedules import schedule_create, schedule_next_times, schedules_tick
from apps.executions.models import Execution
from apps.runbooks.services.access import runbook_grant
from tests.support.executions import command

UTC = ZoneInfo("UTC")
START = datetime(2026, 12, 2, 7, 0, 30, tzinfo=UTC)
PARAMETERS = [{"name": "target", "label": "Target", "required": True}]


@pytest.fixture
def runbook(cast, make_runbook):
    return make_runbook(cast.owner, [command("check", "true")], parameters=PARAMETERS)


def make(cast, runbook, **data):
    with time_machine.travel(START, tick=False):
        return schedule_create(
            runbook=runbook, user=cast.editor, data={"cron": "* * * * *", "params": {"target": "db"}, **data}
        )


def tick_at(moment: datetime, worker: str = "w1"):
    with time_machine.travel(moment, tick=False):
        return schedules_tick(worker=worker)


def test_next_fire_times_follow_the_time_zone(cast, runbook):
    schedule = make(cast, runbook, cron="30 9 * * 1-5", timezone="Europe/Paris")
    upcoming = schedule_next_times(schedule, count=2, now=START)
    assert [moment.astimezone(UTC).isoformat() for moment in upcoming] == [
        "2026-12-02T08:30:00+00:00",
        "2026-12-03T08:30:00+00:00",
    ]


def test_each_fire_time_starts_exactly_one_run_however_often_it_is_ticked(cast, runbook):
    schedule = make(cast, runbook)
    assert tick_at(START + timedelta(seconds=10)) == []
    fire_time = datetime(2026, 12, 2, 7, 1, tzinfo=UTC)
    fires = tick_at(fire_time + timedelta(seconds=2))
    assert len(fires) == 1 and fires[0].fire_at == fire_time
    assert tick_at(fire_time + timedelta(seconds=5), worker="w2") == []
    # A worker that restarts with a stale view of the schedule still cannot claim the time again.
    Schedule.objects.filter(pk=schedule.pk).update(last_fire_at=START)
    assert tick_at(fire_time + timedelta(seconds=7), worker="w3") == []
    execution = Execution.objects.get()
    assert execution.schedule_id == schedule.pk and execution.triggered_by_id is None
    assert execution.params == {"target": "db"}
    assert ScheduleFire.objects.get().execution_id == execution.pk


@pytest.mark.django_db(transaction=True)
def test_two_workers_ticking_together_start_one_run_per_fire_time(cast, runbook):
    make(cast, runbook)
    for minute in (1, 2, 3):
        moment = datetime(2026, 12, 2, 7, minute, 1, tzinfo=UTC)
        barrier = threading.Barrier(2)
        claimed = []

        def worker(name: str, barrier=barrier, claimed=claimed) -> None:
            try:
                barrier.wait(timeout=10)
                claimed.extend(schedules_tick(worker=name))
            finally:
                close_old_connections()

        with time_machine.travel(moment, tick=False):
            threads = [threading.Thread(target=worker, args=(f"w{index}",)) for index in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        assert len(claimed) == 1
    assert Execution.objects.count() == 3
    assert sorted(fire.fire_at.minute for fire in ScheduleFire.objects.all()) == [1, 2, 3]


def test_times_missed_while_no_worker_ran_are_recorded_not_run(cast, runbook):
    schedule = make(cast, runbook, cron="*/5 * * * *")
    # Every worker was down from 07:00:30 to 07:23:30: 07:05 … 07:20 passed unseen.
    assert tick_at(datetime(2026, 12, 2, 7, 23, 30, tzinfo=UTC)) == []
    assert Execution.objects.count() == 0
    missed = ScheduleFire.objects.filter(schedule=schedule, outcome="missed")
    assert sorted(fire.fire_at.minute for fire in missed) == [5, 10, 15, 20]
    assert tick_at(datetime(2026, 12, 2, 7, 23, 40, tzinfo=UTC)) == []
    assert ScheduleFire.objects.count() == 4


def test_a_fire_time_a_little_late_still_runs(cast, runbook):
    make(cast, runbook, cron="*/5 * * * *")
    fires = tick_at(datetime(2026, 12, 2, 7, 6, 30, tzinfo=UTC))
    assert [fire.fire_at.minute for fire in fires] == [5] and Execution.objects.count() == 1


def test_catch_up_runs_the_latest_missed_time_once(cast, runbook):
    schedule = make(cast, runbook, cron="*/5 * * * *", catch_up=True)
    fires = tick_at(datetime(2026, 12, 2, 7, 23, 30, tzinfo=UTC))
    assert len(fires) == 1 and fires[0].fire_at.minute == 20 and "Caught up" in fires[0].reason
    assert Execution.objects.count() == 1
    assert ScheduleFire.objects.filter(schedule=schedule, outcome="missed").count() == 3
    tick_at(datetime(2026, 12, 2, 7, 23, 50, tzinfo=UTC))
    assert Execution.objects.count() == 1


def test_a_schedule_whose_creator_lost_the_runner_role_records_a_failed_fire(cast, runbook):
    make(cast, runbook)
    runbook_grant(runbook=runbook, actor=cast.owner, principal=cast.editor, role="viewer")
    tick_at(datetime(2026, 12, 2, 7, 1, 1, tzinfo=UTC))
    fire = ScheduleFire.objects.get()
    assert fire.outcome == "failed" and "runner role" in fire.reason
    assert Execution.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"cron": "* * * * * *"}, "cron"),
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": 5}, "cron"),
        ({"cron": "* * * * *", "timezone": "Mars/Olympus"}, "timezone"),
        ({"cron": "* * * * *", "params": {}}, "params"),
        ({"cron": "* * * * *", "params": {"target": "x", "nope": "y"}}, "params"),
        ({"cron": "* * * * *", "params": {"target": "x"}, "catch_up": "no"}, "catch_up"),
        ({"cron": "* * * * *", "params": {"target": "x"}, "extra": 1}, "extra"),
    ],
)
def test_the_api_refuses_bad_schedules_naming_the_field(cast, runbook, api_for, data, field):
    response = api_for(cast.editor).post(f"/api/v1/runbooks/{runbook.pk}/schedules/", data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Schedule.objects.count() == 0


def test_the_api_creates_lists_patches_and_deletes(cast, runbook, api_for):
    api = api_for(cast.editor)
    created = api.post(
        f"/api/v1/runbooks/{runbook.pk}/schedules/",
        {"cron": "0 3 * * *", "timezone": "Europe/Paris", "params": {"target": "db"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    next_run = datetime.fromisoformat(body["next_run_at"].replace("Z", "+00:00"))
    assert next_run.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M") == "03:00"
    assert api.get(f"/api/v1/runbooks/{runbook.pk}/schedules/").json()["count"] == 1
    patched = api.patch(f"/api/v1/schedules/{body['id']}/", {"enabled": False}, format="json").json()
    assert patched["enabled"] is False and patched["next_run_at"] is None
    assert api.delete(f"/api/v1/schedules/{body['id']}/").status_code == 204
    assert api.get(f"/api/v1/schedules/{body['id']}/").status_code == 404
    assert api_for(cast.runner).get(f"/api/v1/runbooks/{runbook.pk}/schedules/").status_code == 403


def test_the_runbook_page_shows_the_next_fire_times(cast, runbook):
    make(cast, runbook, cron="15 4 * * *")
    page = Client()
    page.force_login(cast.viewer)
    html = page.get(reverse("runbooks:detail", args=[runbook.pk])).content.decode()
    assert 'id="next-runs"' in html and "04:15" in html
    assert reverse("automation:schedules", args=[runbook.pk]) not in html  # editors only


def test_the_schedules_page_adds_one(cast, runbook):
    page = Client()
    page.force_login(cast.editor)
    response = page.post(
        reverse("automation:schedules", args=[runbook.pk]), {"cron": "*/5 * * * *", "params": "target=web"}
    )
    assert response.status_code == 302
    assert Schedule.objects.get().params == {"target": "web"}
    listed = page.get(reverse("automation:schedules", args=[runbook.pk])).content.decode()
    assert "*/5 * * * *" in listed


def test_a_fire_whose_worker_stopped_before_linking_its_run_says_so_later(cast, runbook, monkeypatch):
    """The claim commits before the run is started and linked; a worker that dies in between left
    the fire 'started' with no run for ever."""
    schedule = make(cast, runbook)

    def worker_dies(schedule, fire):
        raise SystemExit  # stands for the process being killed between the claim and the start: not causable in-process

    monkeypatch.setattr("apps.automation.schedules._start", worker_dies)
    with pytest.raises(SystemExit):
        tick_at(datetime(2026, 12, 2, 7, 1, 1, tzinfo=UTC))
    monkeypatch.undo()
    orphan = ScheduleFire.objects.get()
    assert (orphan.outcome, orphan.execution_id) == ("started", None)

    # A minute later it may still be starting: left alone (and the next fire time runs).
    tick_at(datetime(2026, 12, 2, 7, 2, 1, tzinfo=UTC))
    orphan.refresh_from_db()
    assert orphan.outcome == "started"
    # Past the limit, it says what happened; it is not run again (its run may exist, unlinked).
    tick_at(datetime(2026, 12, 2, 7, 7, 1, tzinfo=UTC))
    orphan.refresh_from_db()
    assert orphan.outcome == "failed" and orphan.execution_id is None
    assert "worker stopped while starting" in orphan.reason
    assert Execution.objects.filter(schedule=schedule).count() == 2  # 07:02 and 07:07, never 07:01
    assert set(ScheduleFire.objects.exclude(pk=orphan.pk).values_list("outcome", flat=True)) == {"started", "missed"}
