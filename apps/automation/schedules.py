"""Cron schedules: validation, next fire times, and the tick that starts each fire time exactly once.

Exactly once across workers and restarts comes from the database, not from memory: a fire time is
claimed by inserting its ScheduleFire row, and the unique constraint (schedule, fire_at) lets one
insert win. A worker that restarts recomputes what is due from `last_fire_at`, so nothing fires twice
and nothing is silently forgotten: fire times that passed while every worker was down are recorded
as missed (or, with catch_up, the most recent one is started once).
"""

import logging
import os
import socket
import threading
import zoneinfo
from datetime import datetime, timedelta

from croniter import croniter
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.automation.models import Schedule, ScheduleFire, ScheduleFireOutcome
from apps.core.errors import Conflict, InvalidInput, ServiceUnavailable
from apps.core.text import text_problem
from apps.executions.models import Execution
from apps.executions.params import params_clean
from apps.executions.services.start import execution_start
from apps.runbooks.models import Runbook
from apps.runbooks.roles import EDIT, RUN
from apps.runbooks.versions import runbook_latest_version

logger = logging.getLogger(__name__)

SCHEDULE_FIELDS = ("cron", "timezone", "params", "enabled", "catch_up")
# A fire time this late is still started on time (a busy worker, a tick interval); later, it was missed.
GRACE_SECONDS = getattr(settings, "RUNBOOKS_SCHEDULE_GRACE_SECONDS", 120)
TICK_SECONDS = getattr(settings, "RUNBOOKS_SCHEDULE_TICK_SECONDS", 5)
# A claimed fire with no run linked after this long lost its worker between the claim and the start.
ORPHAN_SECONDS = 300
ORPHAN_REASON = "The worker stopped while starting this run: no run is linked to this fire time."
# Bounds the work after a long outage: at most this many missed times are recorded one by one.
MAX_RECORDED_MISSES = 100
MAX_WALK = 100_000


def _require_edit(user, runbook: Runbook) -> None:
    if not user.has_perm(EDIT, runbook):
        raise PermissionDenied("Only the runbook's editors manage its schedules.")


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        return None


def _schedule_values(runbook: Runbook, data, current: Schedule | None) -> dict:
    if not isinstance(data, dict):
        raise InvalidInput({"non_field_errors": ["Send a JSON object."]})
    errors: dict = {}
    for name in sorted(set(data) - set(SCHEDULE_FIELDS), key=str):
        errors[str(name)] = [f"Unknown field. Fields: {', '.join(SCHEDULE_FIELDS)}."]
    base = {name: getattr(current, name) for name in SCHEDULE_FIELDS} if current else {}
    merged = {**base, **{name: value for name, value in data.items() if name in SCHEDULE_FIELDS}}
    cron = merged.get("cron")
    if not isinstance(cron, str) or text_problem(cron) or len(cron) > 100:
        errors["cron"] = ["Give a cron expression of 5 fields, e.g. */15 * * * *."]
    else:
        cron = " ".join(cron.split())
        if len(cron.split(" ")) != 5 or not croniter.is_valid(cron):
            errors["cron"] = ["Give a cron expression of 5 fields (minute hour day month weekday), e.g. */15 * * * *."]
    zone = merged.get("timezone", "UTC")
    if not isinstance(zone, str) or len(zone) > 64 or text_problem(zone) or _zone(zone) is None:
        errors["timezone"] = ["Give an IANA time zone such as UTC or Europe/Paris."]
    for flag, default in (("enabled", True), ("catch_up", False)):
        if not isinstance(merged.get(flag, default), bool):
            errors[flag] = ["Give true or false."]
    params = merged.get("params") or {}
    version = runbook_latest_version(runbook)
    parameters = (version.snapshot if version else {"parameters": runbook.parameters}).get("parameters") or []
    try:
        params = params_clean(parameters, params)
    except InvalidInput as error:
        errors.update(error.errors)
    if errors:
        raise InvalidInput(errors)
    return {
        "cron": cron,
        "timezone": zone,
        "params": params,
        "enabled": merged.get("enabled", True),
        "catch_up": merged.get("catch_up", False),
    }


def schedule_create(*, runbook: Runbook, user, data: dict) -> Schedule:
    _require_edit(user, runbook)
    values = _schedule_values(runbook, data, None)
    # Fire times start after creation: a new schedule never "misses" the past.
    schedule = Schedule.objects.create(runbook=runbook, created_by=user, last_fire_at=timezone.now(), **values)
    audit_record(
        actor=user, action="schedule.create", obj=schedule, detail={**values, "params": sorted(values["params"])}
    )
    return schedule


def schedule_update(*, schedule: Schedule, user, data: dict) -> Schedule:
    _require_edit(user, schedule.runbook)
    values = _schedule_values(schedule.runbook, data, schedule)
    fields = list(values)
    if values["enabled"] and not schedule.enabled:
        # Re-enabled: what passed while it was off was not missed, it was not wanted.
        schedule.last_fire_at = timezone.now()
        fields.append("last_fire_at")
    for name, value in values.items():
        setattr(schedule, name, value)
    schedule.save(update_fields=[*fields, "updated_at"])
    audit_record(
        actor=user, action="schedule.update", obj=schedule, detail={**values, "params": sorted(values["params"])}
    )
    return schedule


def schedule_delete(*, schedule: Schedule, user) -> None:
    _require_edit(user, schedule.runbook)
    schedule.deleted_at = timezone.now()
    schedule.enabled = False
    schedule.save(update_fields=["deleted_at", "enabled", "updated_at"])
    audit_record(actor=user, action="schedule.delete", obj=schedule, detail={"cron": schedule.cron})


def fire_times(schedule: Schedule, *, after: datetime, until: datetime | None = None, count: int | None = None):
    """Fire times strictly after `after` (aware datetimes, in the schedule's zone), up to `until` or `count`."""
    zone = _zone(schedule.timezone) or zoneinfo.ZoneInfo("UTC")
    walker = croniter(schedule.cron, after.astimezone(zone))
    found = []
    for _ in range(MAX_WALK):
        moment = walker.get_next(datetime)
        if until is not None and moment > until:
            break
        found.append(moment)
        if count is not None and len(found) >= count:
            break
    return found


def schedule_next_times(schedule: Schedule, *, count: int = 3, now: datetime | None = None) -> list[datetime]:
    if not schedule.enabled:
        return []
    start = max(filter(None, [schedule.last_fire_at, now or timezone.now()]))
    return fire_times(schedule, after=start, count=count)


def _start(schedule: Schedule, fire: ScheduleFire) -> None:
    person = schedule.created_by
    try:
        if person is None or not person.is_active or not person.has_perm(RUN, schedule.runbook):
            raise PermissionDenied("The editor who created this schedule no longer holds the runner role.")
        execution = execution_start(runbook=schedule.runbook, user=person, params=schedule.params, version=None)
    except (InvalidInput, PermissionDenied, ServiceUnavailable, Conflict) as error:
        reason = str(getattr(error, "errors", "") or error)[:2000]
        ScheduleFire.objects.filter(pk=fire.pk).update(outcome=ScheduleFireOutcome.FAILED, reason=reason)
        logger.warning("Schedule %s could not start its run at %s: %s", schedule.pk, fire.fire_at, reason)
        return
    Execution.objects.filter(pk=execution.pk).update(schedule=schedule, triggered_by=None)
    ScheduleFire.objects.filter(pk=fire.pk).update(execution=execution)
    audit_record(actor=f"schedule:{schedule.pk}", action="schedule.fire", obj=execution,
                 detail={"schedule": schedule.pk, "fire_at": fire.fire_at.isoformat(),
                         "on_behalf_of": person.get_username()})  # fmt: skip


def schedule_tick(*, schedule: Schedule, now: datetime, worker: str = "") -> list[ScheduleFire]:
    """Deal with every fire time of one schedule due by `now`; returns the fires this call claimed."""
    base = schedule.last_fire_at or schedule.created_at
    due = fire_times(schedule, after=base, until=now)
    if not due:
        return []
    latest = due[-1]
    on_time = (now - latest).total_seconds() <= GRACE_SECONDS
    to_start = latest if on_time or schedule.catch_up else None
    missed = [moment for moment in due if moment != to_start][-MAX_RECORDED_MISSES:]
    fire = None
    with transaction.atomic():
        # Missed times, the claim of the one to start and the new last_fire_at commit together, so a
        # worker dying in between leaves either all of it or none of it.
        ScheduleFire.objects.bulk_create(
            [ScheduleFire(schedule=schedule, fire_at=moment, outcome=ScheduleFireOutcome.MISSED, worker=worker,
                          reason="No worker was running at this time.") for moment in missed],
            ignore_conflicts=True,
        )  # fmt: skip
        if to_start is not None:
            try:
                with transaction.atomic():
                    fire = ScheduleFire.objects.create(
                        schedule=schedule, fire_at=to_start, outcome=ScheduleFireOutcome.STARTED, worker=worker,
                        reason="" if on_time else "Caught up after no worker was running.",
                    )  # fmt: skip
            except IntegrityError:
                fire = None  # another worker claimed this fire time first
        Schedule.objects.filter(pk=schedule.pk, last_fire_at__lt=latest).update(last_fire_at=latest)
    if fire is None:
        return []
    _start(schedule, fire)
    return [fire]


def fires_orphaned_close(*, now: datetime) -> int:
    """Claims whose worker stopped before linking a run say so, instead of "started" for ever.

    They are not started again: the run may exist, created but not linked, and a second one would
    break "one run per fire time". Returns how many were closed.
    """
    orphans = ScheduleFire.objects.filter(
        outcome=ScheduleFireOutcome.STARTED,
        execution__isnull=True,
        recorded_at__lt=now - timedelta(seconds=ORPHAN_SECONDS),
    )
    return orphans.update(outcome=ScheduleFireOutcome.FAILED, reason=ORPHAN_REASON)


def schedules_tick(*, now: datetime | None = None, worker: str = "") -> list[ScheduleFire]:
    """One pass over every enabled schedule; any number of workers may run it at once."""
    now = now or timezone.now()
    closed = fires_orphaned_close(now=now)
    if closed:
        logger.warning("Closed %s schedule fires whose worker stopped before their run was linked", closed)
    fires = []
    schedules = Schedule.objects.filter(enabled=True, deleted_at__isnull=True, runbook__archived_at__isnull=True)
    for schedule in schedules.select_related("runbook", "created_by"):
        try:
            fires += schedule_tick(schedule=schedule, now=now, worker=worker)
        except Exception:
            logger.exception("Schedule %s failed its tick", schedule.pk)
    return fires


def automation_loop(stop: threading.Event, interval: float = TICK_SECONDS, worker: str = "") -> None:
    """The worker's automation thread: fire due schedules every `interval` seconds until `stop` is set."""
    while True:
        try:
            schedules_tick(worker=worker)
        except Exception:
            logger.exception("Automation pass failed; retrying in %s s", interval)
        finally:
            close_old_connections()
        if stop.wait(interval):
            return


def automation_start(*, stop: threading.Event | None = None, interval: float = TICK_SECONDS) -> threading.Event:
    """Start the automation thread in this process (the worker's reaper process); set `stop` to end it."""
    stop = stop or threading.Event()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    threading.Thread(target=automation_loop, args=(stop, interval, worker), name="automation", daemon=True).start()
    return stop
