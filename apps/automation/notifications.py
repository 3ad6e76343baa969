"""Notifications: a runbook's subscribers hear of its runs by email or through an apprise URL.

The engine only sends a signal (apps.executions.events); the listener here enqueues a job after
the commit, and the worker sends. A run never waits for a mail server or a webhook: sending is a
job of its own on the default queue, retried with backoff, every try recorded as a
NotificationAttempt. What is sent (subject, body, errors) is masked with every credential's secret,
like output, because a title, a parameter or an error may carry one.
"""

import logging
import os
from datetime import timedelta
from urllib.parse import urlsplit

import apprise
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.core.mail import get_connection, send_mail
from django.db import transaction
from django.urls import reverse

from apps.audit.services import audit_record
from apps.automation.models import (
    AttemptStatus,
    Notification,
    NotificationAttempt,
    NotificationChannel,
    NotificationEvent,
)
from apps.blocks.executors.ssrf import Refused, resolve_and_check
from apps.core.errors import InvalidInput
from apps.core.masking.masker import Masker
from apps.credentials.fields import CredentialDecryptError
from apps.credentials.models import Credential, CredentialKind
from apps.credentials.roles import USE
from apps.executions.models import Execution
from apps.executions.queue import default_queue
from apps.executions.rules import may_approve
from apps.runbooks.models import Runbook
from apps.runbooks.roles import EDIT, RUN, VIEW

logger = logging.getLogger(__name__)

NOTIFICATION_FIELDS = ("events", "channel", "target")
# Seconds before the 2nd, 3rd … try; after the last, the attempt gives up.
BACKOFF_SECONDS = getattr(settings, "RUNBOOKS_NOTIFICATION_BACKOFF_SECONDS", (10, 60, 300))
SEND_TIMEOUT_SECONDS = 10
MAX_PER_RUNBOOK = 50
FINAL_EVENTS = {NotificationEvent.FAILED, NotificationEvent.TIMED_OUT, NotificationEvent.SUCCEEDED}


def _base_url() -> str:
    # Messages leave the site, so their links must be absolute: the address people reach it at.
    configured = getattr(settings, "RUNBOOKS_BASE_URL", "") or os.environ.get("RUNBOOKS_BASE_URL", "")
    return (configured or "http://localhost:8000").rstrip("/")


# --- settings: who hears of what ----------------------------------------------------------------


def _target(channel: str, target, user, errors: dict) -> dict:
    if not isinstance(target, str | int) or isinstance(target, bool) or not str(target).strip():
        errors["target"] = ["Give a username, group:NAME, or (for apprise) the id of a credential."]
        return {}
    target = str(target).strip()[:200]
    if channel == NotificationChannel.APPRISE:
        if not target.isdigit():
            errors["target"] = ["Give the id of a credential whose secret is the apprise URL."]
            return {}
        credential = Credential.objects.filter(pk=int(target)).first()
        # Unknown and not usable read alike: the id reveals nothing about others' credentials.
        if credential is None or not user.has_perm(USE, credential):
            errors["target"] = ["No such credential, or you do not hold the user role on it."]
            return {}
        if credential.kind != CredentialKind.SECRET:
            errors["target"] = ["Use a credential of kind “secret” whose secret is the apprise URL."]
            return {}
        return {"credential": credential}
    if target.startswith("group:"):
        group = Group.objects.filter(name=target.removeprefix("group:")).first()
        if group is None:
            errors["target"] = ["No such group."]
            return {}
        return {"group": group}
    person = get_user_model().objects.filter(username=target, is_active=True).first()
    if person is None:
        errors["target"] = ["No such user."]
        return {}
    return {"user": person}


def _notification_values(runbook: Runbook, data, user) -> dict:
    if not isinstance(data, dict):
        raise InvalidInput({"non_field_errors": ["Send a JSON object."]})
    errors: dict = {}
    for name in sorted(set(data) - set(NOTIFICATION_FIELDS), key=str):
        errors[str(name)] = [f"Unknown field. Fields: {', '.join(NOTIFICATION_FIELDS)}."]
    events = data.get("events")
    if (
        not isinstance(events, list)
        or not events
        or not all(isinstance(event, str) and event in NotificationEvent.values for event in events)
    ):
        errors["events"] = [f"Give a non-empty list of: {', '.join(NotificationEvent.values)}."]
        events = []
    channel = data.get("channel")
    if channel not in NotificationChannel.values:
        errors["channel"] = [f"Choose one of: {', '.join(NotificationChannel.values)}."]
        target = {}
    else:
        target = _target(channel, data.get("target"), user, errors)
    if channel == NotificationChannel.EMAIL and "credential" in target:
        errors["target"] = ["Email goes to a user or group:NAME."]
    if errors:
        raise InvalidInput(errors)
    ordered = [event for event in NotificationEvent.values if event in events]
    return {"events": ordered, "channel": channel, **target}


def notification_create(*, runbook: Runbook, user, data: dict) -> Notification:
    """Validated in full before anything is written: a bad field saves nothing."""
    if not user.has_perm(EDIT, runbook):
        raise PermissionDenied("Only the runbook's editors manage its notifications.")
    values = _notification_values(runbook, data, user)
    if Notification.objects.filter(runbook=runbook).count() >= MAX_PER_RUNBOOK:
        raise InvalidInput({"non_field_errors": [f"A runbook has at most {MAX_PER_RUNBOOK} notifications."]})
    notification = Notification.objects.create(runbook=runbook, created_by=user, **values)
    audit_record(actor=user, action="notification.create", obj=notification,
                 detail={"runbook": runbook.pk, "events": values["events"], "channel": values["channel"],
                         "target": notification.target})  # fmt: skip
    return notification


def notification_delete(*, notification: Notification, user) -> None:
    if not user.has_perm(EDIT, notification.runbook):
        raise PermissionDenied("Only the runbook's editors manage its notifications.")
    audit_record(actor=user, action="notification.delete", obj=notification,
                 detail={"runbook": notification.runbook_id, "target": notification.target})  # fmt: skip
    notification.delete()


# --- from the engine's event to jobs ------------------------------------------------------------


# The RQ jobs that run dispatch and send, by dotted path: apps.automation.jobs imports this module.
# The default queue, not the executions one: a slow mail server or webhook must never take a slot a
# run could use.
DISPATCH_JOB = "apps.automation.jobs.dispatch_notifications"
SEND_JOB = "apps.automation.jobs.send_notification"


def _enqueue(job: str, *args, delay: timedelta | None = None) -> None:
    queue = default_queue()
    if delay:
        queue.enqueue_in(delay, job, *args, job_timeout=60)
    else:
        queue.enqueue(job, *args, job_timeout=60)


def _event_name(event: str, gate: str) -> str | None:
    if event == "waiting":
        # Confirm gates and timers need no second person; only approvals are announced.
        return NotificationEvent.WAITING if gate == "approval" else None
    return event if event in NotificationEvent.values else None


def on_execution_event(*, execution_id: int, event: str, gate: str = "", step_key: str = "", **_) -> None:
    """The signal's listener (in the worker, inside the engine): queue the sending after the commit."""
    name = _event_name(event, gate)
    if name is None:
        return
    runbook_id = Execution.objects.filter(pk=execution_id).values_list("runbook_id", flat=True).first()
    if runbook_id is None or not Notification.objects.filter(runbook_id=runbook_id).exists():
        return

    def enqueue() -> None:
        try:
            _enqueue(DISPATCH_JOB, execution_id, name, step_key)
        except Exception:  # Redis down: the run goes on; the notification is lost and said so in the log.
            logger.exception("Could not queue the %s notification of execution %s", name, execution_id)

    transaction.on_commit(enqueue)


def notifications_dispatch(*, execution_id: int, event: str, step_key: str = "") -> list[int]:
    """One send job per subscription that wants this event; returns their notification ids."""
    execution = Execution.objects.filter(pk=execution_id).first()
    if execution is None:
        return []
    wanted = [
        notification.pk
        for notification in Notification.objects.filter(runbook_id=execution.runbook_id)
        if event in notification.events
    ]
    for notification_id in wanted:
        _enqueue(SEND_JOB, notification_id, execution_id, event, step_key, 1)
    return wanted


# --- composing and sending ----------------------------------------------------------------------


def _masker(extra: list[str]) -> Masker:
    found = list(extra)
    for credential in Credential.objects.only("pk", "secret"):
        try:
            found.append(credential.secret)
        except CredentialDecryptError:
            continue
    return Masker([secret for secret in found if secret])


def _message(execution: Execution, event: str, step_key: str) -> tuple[str, str]:
    runbook = execution.runbook
    link = _base_url() + reverse("executions:detail", args=[execution.pk])
    who = (
        execution.triggered_by.get_username()
        if execution.triggered_by_id
        else (
            f"trigger {execution.trigger.name}"
            if execution.trigger_id
            else ("a schedule" if execution.schedule_id else "someone")
        )
    )
    title = {
        NotificationEvent.STARTED: f"Run #{execution.pk} of “{runbook.title}” started",
        NotificationEvent.WAITING: f"Run #{execution.pk} of “{runbook.title}” waits for approval at {step_key}",
        NotificationEvent.FAILED: f"Run #{execution.pk} of “{runbook.title}” failed",
        NotificationEvent.TIMED_OUT: f"Run #{execution.pk} of “{runbook.title}” timed out",
        NotificationEvent.SUCCEEDED: f"Run #{execution.pk} of “{runbook.title}” succeeded",
    }[event]
    lines = [title + ".", "", f"Started by: {who}"]
    if execution.params:
        lines.append("Parameters: " + ", ".join(f"{name}={value}" for name, value in execution.params.items()))
    if event == NotificationEvent.WAITING:
        step = execution.steps.filter(block_key=step_key).first()
        gate = link + (f"#step-{step.pk}" if step else "")
        lines += ["", f"Approve or reject it here: {gate}"]
    else:
        if event in FINAL_EVENTS and execution.error:
            lines += ["", f"Error: {execution.error}"]
        lines += ["", f"Open the run: {link}"]
    return title, "\n".join(lines)


def _may_hear(person, execution: Execution, event: str) -> bool:
    if not person.is_active or not person.email:
        return False
    if event == NotificationEvent.WAITING:
        # Sent to those who may approve: runners who did not set this run in motion.
        return person.has_perm(RUN, execution.runbook) and may_approve(person, execution)
    return person.has_perm(VIEW, execution.runbook)


def _emails(notification: Notification, execution: Execution, event: str) -> list[str]:
    people = [notification.user] if notification.user_id else list(notification.group.user_set.all())
    return sorted({person.email for person in people if _may_hear(person, execution, event)})


# Apprise schemes whose host is wherever the URL says (the others post to their service's own public API):
# the same SSRF guard as API call steps applies to them, RUNBOOKS_HTTP_ALLOWLIST included.
FREE_HOST_SCHEMES = {
    "json", "jsons", "form", "forms", "xml", "xmls", "apprise", "apprises", "ntfy", "ntfys", "gotify", "gotifys",
    "mailto", "mailtos", "matrix", "matrixs", "mmost", "mmosts", "rocket", "rockets", "nctalk", "nctalks",
}  # fmt: skip


class Unreachable(Exception):
    """A channel the guard refuses: retrying cannot help."""


def _guard(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in FREE_HOST_SCHEMES:
        return
    try:
        port = parts.port or (443 if parts.scheme.lower().endswith("s") else 80)
        resolve_and_check(parts.hostname or "", port)
    except (Refused, ValueError) as error:
        raise Unreachable(str(error) or "The apprise URL has no valid host.") from None


def _send_apprise(url: str, title: str, body: str) -> str:
    """ "" when sent, else what apprise said (its log, masked by the caller)."""
    _guard(url)
    sender = apprise.Apprise()
    if not sender.add(url):
        return "The credential's secret is not an apprise URL apprise knows."
    with apprise.LogCapture(level=apprise.logging.INFO) as log:
        sent = sender.notify(title=title, body=body)
    return "" if sent else (log.getvalue().strip()[-2000:] or "The channel did not accept the message.")


def notification_send(*, notification_id: int, execution_id: int, event: str, step_key: str, number: int) -> str:
    """Try once; record the try; on failure queue the next after its backoff. Returns the status."""
    notification = (
        Notification.objects.select_related("user", "group", "credential", "runbook").filter(pk=notification_id).first()
    )
    execution = Execution.objects.select_related("runbook", "triggered_by", "trigger").filter(pk=execution_id).first()
    if notification is None or execution is None:
        return AttemptStatus.SKIPPED  # deleted meanwhile: nobody asked for it any more
    url = ""
    if notification.channel == NotificationChannel.APPRISE:
        try:
            url = notification.credential.secret or ""
        except CredentialDecryptError:
            url = ""
    masker = _masker([url])
    title, body = _message(execution, event, step_key)
    title, body = masker.mask(title), masker.mask(body)
    attempt = NotificationAttempt(
        notification=notification, runbook=execution.runbook, execution=execution, event=event,
        channel=notification.channel, number=number, subject=title[:300],
    )  # fmt: skip
    error = ""
    if notification.channel == NotificationChannel.EMAIL:
        recipients = _emails(notification, execution, event)
        attempt.recipients = ", ".join(recipients)
        if not recipients:
            attempt.status, attempt.error = (
                AttemptStatus.SKIPPED,
                "Nobody here may hear of it, or has an email address.",
            )
            attempt.save()
            return attempt.status
        try:
            connection = get_connection(timeout=SEND_TIMEOUT_SECONDS)
            send_mail(title, body, None, recipients, connection=connection)
        except Exception as problem:  # any SMTP or socket failure is retried, never raised into the worker
            error = f"{type(problem).__name__}: {problem}"
    else:
        attempt.recipients = f"credential {notification.credential.name}"
        try:
            error = "The credential's secret cannot be decrypted." if not url else _send_apprise(url, title, body)
        except Unreachable as refused:
            error, number = str(refused), len(BACKOFF_SECONDS) + 1  # refused by the guard: no retry
    if not error:
        attempt.status = AttemptStatus.SENT
    elif number <= len(BACKOFF_SECONDS):
        attempt.status = AttemptStatus.FAILED
    else:
        attempt.status = AttemptStatus.GAVE_UP
    attempt.error = masker.mask(error)[:4000]
    attempt.save()
    if attempt.status == AttemptStatus.FAILED:
        delay = timedelta(seconds=BACKOFF_SECONDS[number - 1])
        _enqueue(SEND_JOB, notification_id, execution_id, event, step_key, number + 1, delay=delay)
    return attempt.status
