"""Reads of executions, always through the caller's role on the runbook."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from apps.executions.models import Execution, ExecutionStatus, OutputChunk, StepRun
from apps.executions.slots import max_running_per_runbook
from apps.runbooks.models import Runbook
from apps.runbooks.roles import VIEW


def execution_for_user(user: AbstractBaseUser, pk, perm: str = VIEW) -> Execution:
    """404 for outsiders, 403 for a role too weak for `perm` — runbook_for_user's rules.

    Unlike runbook_for_user, an archived runbook's executions stay visible: history outlives the runbook.
    """
    if not user.is_authenticated:
        raise Http404("No such execution.")
    try:
        execution = Execution.objects.select_related("runbook", "triggered_by", "version", "cancelled_by").get(pk=pk)
    except (Execution.DoesNotExist, ValueError, TypeError):
        raise Http404("No such execution.") from None
    if not user.has_perm(VIEW, execution.runbook):
        raise Http404("No such execution.")
    if perm != VIEW and not user.has_perm(perm, execution.runbook):
        raise PermissionDenied("Your role on this runbook does not allow that.")
    return execution


def executions_visible_to(
    user: AbstractBaseUser, *, runbook=None, status=None, triggered_by=None, since=None, until=None
) -> QuerySet:
    """Executions of runbooks (archived ones too) the user may view, newest first, in one query.

    The snapshot is deferred: list pages never need it and it can be large.
    """
    if not user.is_authenticated:
        return Execution.objects.none()
    runbooks = get_objects_for_user(
        user, VIEW, klass=Runbook.objects.all(), accept_global_perms=False, with_superuser=True
    )
    queryset = Execution.objects.filter(runbook__in=runbooks.values("pk"))
    if runbook is not None:
        queryset = queryset.filter(runbook=runbook)
    if status:
        queryset = queryset.filter(status=status)
    if triggered_by is not None:
        queryset = queryset.filter(triggered_by=triggered_by)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    if until is not None:
        queryset = queryset.filter(created_at__lt=until)
    return (
        queryset.select_related("runbook", "triggered_by", "version", "trigger")
        .defer("snapshot", "version__snapshot")
        .order_by("-created_at", "-pk")
    )


def step_output(step_run: StepRun, *, after_seq: int = -1, limit: int | None = None) -> list[OutputChunk]:
    """Stored (masked) chunks after `after_seq`, in order: what a reload or reconnect has missed."""
    chunks = OutputChunk.objects.filter(step_run=step_run, seq__gt=after_seq).order_by("seq")
    if limit is not None:
        chunks = chunks[:limit]
    return list(chunks)


def execution_steps(execution: Execution) -> list[StepRun]:
    return list(StepRun.objects.filter(execution=execution).select_related("confirmed_by").order_by("position"))


def execution_queue_position(execution: Execution) -> dict | None:
    """Where a queued run stands, for its page: None unless queued.

    {"position": 1-based place among every queued run (oldest first), "ahead": queued runs before
    it, "runbook_full": its runbook's slots are all taken, "running_of_runbook": how many run,
    "max_running": the cap, "ahead_in_runbook": queued runs of its runbook before it}.
    """
    if execution.status != ExecutionStatus.QUEUED or execution.cancel_requested_at is not None:
        return None
    queued = Execution.objects.filter(status=ExecutionStatus.QUEUED, cancel_requested_at__isnull=True)
    before = queued.filter(created_at__lt=execution.created_at) | queued.filter(
        created_at=execution.created_at, pk__lt=execution.pk
    )
    ahead = before.count()
    running = Execution.objects.filter(runbook_id=execution.runbook_id, status=ExecutionStatus.RUNNING).count()
    cap = max_running_per_runbook()
    ahead_in_runbook = before.filter(runbook_id=execution.runbook_id).count()
    return {
        "position": ahead + 1,
        "ahead": ahead,
        "running_of_runbook": running,
        "max_running": cap,
        "runbook_full": running + ahead_in_runbook >= cap,
        "ahead_in_runbook": ahead_in_runbook,
    }
