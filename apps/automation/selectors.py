"""Reads of triggers, proposals and schedules, always through the caller's role on the runbook."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from apps.automation.models import (
    Delivery,
    Notification,
    NotificationAttempt,
    Proposal,
    ProposalStatus,
    Schedule,
    Trigger,
)
from apps.automation.schedules import schedule_next_times
from apps.runbooks.models import Runbook
from apps.runbooks.roles import EDIT, RUN, VIEW
from apps.runbooks.selectors import runbook_for_user


def trigger_for_user(user: AbstractBaseUser, pk, perm: str = EDIT) -> Trigger:
    """The runbook's rules (404 outsiders, 403 too weak); triggers are the editors' business."""
    try:
        trigger = Trigger.objects.active().select_related("runbook", "created_by").get(pk=pk)
    except (Trigger.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such trigger.") from None
    trigger.runbook = runbook_for_user(user, trigger.runbook_id, perm)
    return trigger


def triggers_of(runbook: Runbook) -> QuerySet:
    return Trigger.objects.active().filter(runbook=runbook).select_related("created_by")


def deliveries_of(trigger: Trigger) -> QuerySet:
    return Delivery.objects.filter(trigger=trigger).order_by("-at", "-pk")


def proposal_for_user(user: AbstractBaseUser, pk, perm: str = VIEW) -> Proposal:
    try:
        proposal = Proposal.objects.select_related("trigger", "runbook", "decided_by").get(pk=pk)
    except (Proposal.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such proposal.") from None
    proposal.runbook = runbook_for_user(user, proposal.runbook_id, perm)
    return proposal


def waiting_proposals_of(runbook: Runbook) -> QuerySet:
    return Proposal.objects.filter(runbook=runbook, status=ProposalStatus.WAITING).select_related("trigger")


def schedule_for_user(user: AbstractBaseUser, pk, perm: str = EDIT) -> Schedule:
    try:
        schedule = Schedule.objects.filter(deleted_at__isnull=True).select_related("runbook").get(pk=pk)
    except (Schedule.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such schedule.") from None
    schedule.runbook = runbook_for_user(user, schedule.runbook_id, perm)
    return schedule


def schedules_of(runbook: Runbook) -> QuerySet:
    return Schedule.objects.filter(runbook=runbook, deleted_at__isnull=True)


def notification_for_user(user: AbstractBaseUser, pk, perm: str = EDIT) -> Notification:
    try:
        notification = Notification.objects.select_related("runbook", "user", "group", "created_by").get(pk=pk)
    except (Notification.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such notification.") from None
    notification.runbook = runbook_for_user(user, notification.runbook_id, perm)
    return notification


def notifications_of(runbook: Runbook) -> QuerySet:
    return Notification.objects.filter(runbook=runbook).select_related("user", "group", "credential", "created_by")


def notification_attempts_of(runbook: Runbook) -> QuerySet:
    return NotificationAttempt.objects.filter(runbook=runbook).order_by("-at", "-pk")


def automation_panel_for(*, user: AbstractBaseUser, runbook: Runbook) -> dict:
    """The runbook page's automation panel: the next fires of its enabled schedules, the proposed
    runs waiting, and what this person may do about them."""
    upcoming = []
    for schedule in schedules_of(runbook).filter(enabled=True):
        upcoming += [(moment, schedule) for moment in schedule_next_times(schedule, count=3)]
    upcoming.sort(key=lambda pair: pair[0])
    return {
        "runbook": runbook,
        "upcoming": upcoming[:5],
        "proposals": list(waiting_proposals_of(runbook)[:10]),
        "can_edit": user.has_perm(EDIT, runbook),
        "can_run": user.has_perm(RUN, runbook),
    }
