"""Pages for a runbook's triggers, proposals and schedules. Thin callers of the services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.automation import notifications, schedules, services
from apps.automation.models import NotificationChannel, NotificationEvent, TriggerAction, TriggerKind, TriggerPer
from apps.automation.payloads import GRAFANA_SIGNATURE_HEADER, GRAFANA_TIMESTAMP_HEADER
from apps.automation.selectors import (
    deliveries_of,
    notification_attempts_of,
    notification_for_user,
    notifications_of,
    proposal_for_user,
    schedule_for_user,
    schedules_of,
    trigger_for_user,
    triggers_of,
)
from apps.core.errors import InvalidInput
from apps.core.pages import domain_errors, flash
from apps.runbooks.roles import EDIT, RUN
from apps.runbooks.selectors import runbook_for_user

SHOWN_DELIVERIES = 50


def _mapping_from_text(text: str) -> dict:
    """`NAME=path` or `NAME==constant`, one a line, as typed on the page."""
    mapping = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, source = line.partition("=")
        if not sep:
            raise InvalidInput({"params": [f"“{line.strip()[:60]}”: write NAME=path.in.payload or NAME==constant."]})
        mapping[name.strip()] = source.strip()
    return mapping


def _mapping_as_text(mapping: dict) -> str:
    return "\n".join(f"{name}={source}" for name, source in mapping.items())


def _trigger_data(post) -> dict:
    seconds = post.get("dedup_seconds", "300").strip()
    return {
        "name": post.get("name", ""),
        "kind": post.get("kind", ""),
        "action": post.get("action", ""),
        "per": post.get("per", ""),
        "params": _mapping_from_text(post.get("params", "")),
        "dedup_path": post.get("dedup_path", ""),
        "dedup_seconds": int(seconds) if seconds.isdigit() and len(seconds) < 9 else -1,
        "include_resolved": post.get("include_resolved") == "on",
        "enabled": True,
    }


def flat_errors(errors: dict) -> list[str]:
    """Field errors (nested for params) as lines a page shows above its form."""
    lines = []
    for name, value in errors.items():
        if isinstance(value, dict):
            lines += [f"{name} → {inner}: {' '.join(messages)}" for inner, messages in value.items()]
        else:
            lines.append(f"{name}: {' '.join(map(str, value))}")
    return lines


def _hook_url(request: HttpRequest, trigger) -> str:
    return request.build_absolute_uri(reverse("automation:hook", args=[trigger.uuid]))


def _no_store(response: HttpResponse) -> HttpResponse:
    # The page may carry a secret shown once: never kept by a cache or the back button.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def trigger_list(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, EDIT)
    errors, form = {}, {"kind": TriggerKind.ALERTMANAGER, "action": TriggerAction.RUN, "per": TriggerPer.ALERT,
                         "dedup_seconds": 300, "params": ""}  # fmt: skip
    if request.method == "POST":
        form = {**request.POST.dict()}
        try:
            trigger, secret = services.trigger_create(
                runbook=runbook, user=request.user, data=_trigger_data(request.POST)
            )
        except InvalidInput as error:
            # The form again, as typed, with the errors above it.
            errors = error.errors
        else:
            return _trigger_page(request, trigger, secret=secret, status=201)
    context = {
        "runbook": runbook,
        "triggers": triggers_of(runbook),
        "form": form,
        "errors": flat_errors(errors),
        "kinds": TriggerKind.choices,
        "actions": TriggerAction.choices,
        "pers": TriggerPer.choices,
        "parameters": runbook.parameters or [],
    }
    return render(request, "automation/trigger_list.html", context, status=400 if errors else 200)


def _trigger_page(request: HttpRequest, trigger, *, secret: str = "", status: int = 200) -> HttpResponse:
    context = {
        "runbook": trigger.runbook,
        "trigger": trigger,
        "secret": secret,
        "hook_url": _hook_url(request, trigger),
        "mapping_text": _mapping_as_text(trigger.params),
        "deliveries": deliveries_of(trigger)[:SHOWN_DELIVERIES],
        "grafana_header": GRAFANA_SIGNATURE_HEADER,
        "grafana_timestamp_header": GRAFANA_TIMESTAMP_HEADER,
    }
    return _no_store(render(request, "automation/trigger_detail.html", context, status=status))


@login_required
@require_GET
def trigger_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _trigger_page(request, trigger_for_user(request.user, pk))


@login_required
@require_POST
def trigger_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    trigger = trigger_for_user(request.user, pk)
    secret = services.trigger_rotate(trigger=trigger, user=request.user)
    return _trigger_page(request, trigger, secret=secret)


@login_required
@require_POST
def trigger_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    trigger = trigger_for_user(request.user, pk)
    services.trigger_update(trigger=trigger, user=request.user, data={"enabled": not trigger.enabled})
    messages.success(request, f"Trigger “{trigger.name}” {'enabled' if trigger.enabled else 'disabled'}.")
    return redirect("automation:trigger", pk=trigger.pk)


@login_required
@require_http_methods(["GET", "POST"])
def trigger_delete(request: HttpRequest, pk: int) -> HttpResponse:
    trigger = trigger_for_user(request.user, pk)
    if request.method == "POST":
        services.trigger_delete(trigger=trigger, user=request.user)
        messages.success(request, f"Trigger “{trigger.name}” deleted; its URL answers 404 from now on.")
        return redirect("automation:triggers", pk=trigger.runbook_id)
    return render(request, "automation/trigger_delete.html", {"trigger": trigger, "runbook": trigger.runbook})


@login_required
@require_GET
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = proposal_for_user(request.user, pk)
    context = {
        "proposal": proposal,
        "runbook": proposal.runbook,
        "can_run": request.user.has_perm(RUN, proposal.runbook),
    }
    return render(request, "automation/proposal_detail.html", context)


def _to_proposal(request: HttpRequest, pk: int) -> HttpResponse:
    return redirect("automation:proposal", pk=pk)


def _not_started(request: HttpRequest, error: Exception, pk: int) -> HttpResponse:
    # Field errors as the service gave them: a proposal's parameters come from an alert, not a form.
    messages.error(request, f"Could not start the run: {getattr(error, 'errors', None) or error}")
    return _to_proposal(request, pk)


@login_required
@require_POST
@domain_errors(_not_started)
def proposal_start(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = proposal_for_user(request.user, pk, RUN)
    execution = services.proposal_start(proposal=proposal, user=request.user)
    return redirect("executions:detail", pk=execution.pk)


@login_required
@require_POST
@domain_errors(flash(_to_proposal))
def proposal_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = proposal_for_user(request.user, pk, RUN)
    services.proposal_dismiss(proposal=proposal, user=request.user)
    return _to_proposal(request, proposal.pk)


def _schedule_data(post) -> dict:
    params = {}
    for line in post.get("params", "").splitlines():
        if line.strip():
            name, _, value = line.partition("=")
            params[name.strip()] = value.strip()
    return {
        "cron": post.get("cron", ""),
        "timezone": post.get("timezone", "").strip() or "UTC",
        "params": params,
        "enabled": True,
        "catch_up": post.get("catch_up") == "on",
    }


@login_required
@require_http_methods(["GET", "POST"])
def schedule_list(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, EDIT)
    errors, form = [], {"cron": "", "timezone": "UTC", "params": ""}
    if request.method == "POST":
        form = request.POST.dict()
        try:
            schedules.schedule_create(runbook=runbook, user=request.user, data=_schedule_data(request.POST))
        except InvalidInput as error:
            # The form again, as typed, with the errors above it.
            errors = flat_errors(error.errors)
        else:
            messages.success(request, "Schedule added.")
            return redirect("automation:schedules", pk=runbook.pk)
    rows = []
    for schedule in schedules_of(runbook).select_related("created_by"):
        schedule.upcoming = schedules.schedule_next_times(schedule, count=3)
        schedule.recent = list(schedule.fires.select_related("execution")[:10])
        rows.append(schedule)
    context = {"runbook": runbook, "schedules": rows, "form": form, "errors": errors,
               "parameters": runbook.parameters or []}  # fmt: skip
    return render(request, "automation/schedule_list.html", context, status=400 if errors else 200)


@login_required
@require_POST
def schedule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = schedule_for_user(request.user, pk)
    schedules.schedule_update(schedule=schedule, user=request.user, data={"enabled": not schedule.enabled})
    return redirect("automation:schedules", pk=schedule.runbook_id)


@login_required
@require_POST
def schedule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = schedule_for_user(request.user, pk)
    schedules.schedule_delete(schedule=schedule, user=request.user)
    messages.success(request, f"Schedule “{schedule.cron}” deleted.")
    return redirect("automation:schedules", pk=schedule.runbook_id)


SHOWN_ATTEMPTS = 50


@login_required
@require_http_methods(["GET", "POST"])
def notification_list(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, EDIT)
    errors, form = [], {"events": ["failed", "timed_out"], "channel": "email", "target": ""}
    if request.method == "POST":
        form = {"events": request.POST.getlist("events"), "channel": request.POST.get("channel", ""),
                "target": request.POST.get("target", "")}  # fmt: skip
        try:
            notifications.notification_create(runbook=runbook, user=request.user, data=form)
        except InvalidInput as error:
            # The form again, as typed, with the errors above it.
            errors = flat_errors(error.errors)
        else:
            messages.success(request, "Notification added.")
            return redirect("automation:notifications", pk=runbook.pk)
    context = {
        "runbook": runbook,
        "notifications": notifications_of(runbook),
        "attempts": notification_attempts_of(runbook).select_related("execution")[:SHOWN_ATTEMPTS],
        "events": NotificationEvent.choices,
        "channels": NotificationChannel.choices,
        "form": form,
        "errors": errors,
    }
    return render(request, "automation/notification_list.html", context, status=400 if errors else 200)


@login_required
@require_POST
def notification_delete(request: HttpRequest, pk: int) -> HttpResponse:
    notification = notification_for_user(request.user, pk)
    notifications.notification_delete(notification=notification, user=request.user)
    messages.success(request, "Notification removed.")
    return redirect("automation:notifications", pk=notification.runbook_id)
