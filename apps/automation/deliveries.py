"""Deliveries to a trigger's hook: authenticate, rate-limit, read the payload, start or propose runs.

Every authenticated delivery is recorded (its payload masked and capped) whatever its outcome; the
hook view (apps.automation.hooks) only turns the answer into a response.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta

import redis
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.audit.services import audit_record
from apps.automation import payloads
from apps.automation.models import Delivery, DeliveryOutcome, Proposal, Trigger, TriggerAction, TriggerFire
from apps.core.errors import Conflict, InvalidInput, ServiceUnavailable
from apps.core.masking.masker import Masker
from apps.core.parsers import check_json_values
from apps.credentials.fields import CredentialDecryptError
from apps.credentials.models import Credential
from apps.executions.models import Execution
from apps.executions.params import params_clean
from apps.executions.queue import redis_connection, redis_key
from apps.executions.services.start import execution_start
from apps.runbooks.roles import RUN
from apps.runbooks.versions import runbook_latest_version

KEPT_DELIVERIES = getattr(settings, "RUNBOOKS_TRIGGER_DELIVERIES_KEPT", 200)
PAYLOAD_CAP_BYTES = 16 * 1024
MAX_ITEMS_PER_DELIVERY = 20
RATE_PER_MINUTE = getattr(settings, "RUNBOOKS_TRIGGER_RATE_PER_MINUTE", 60)


@dataclass
class HookAnswer:
    status: int
    body: dict = field(default_factory=dict)


# Unknown, disabled, malformed id or wrong secret: one answer for all, so nothing is revealed.
REFUSED = HookAnswer(401, {"detail": "Unknown trigger or bad credentials."})


def _all_secrets(trigger_secret: str) -> list[str]:
    found = [trigger_secret]
    for credential in Credential.objects.only("pk", "name", "secret"):
        try:
            found.append(credential.secret)
        except CredentialDecryptError:
            continue
    return found


def _stored_payload(body: bytes, trigger_secret: str) -> tuple[str, bool]:
    text = body[: PAYLOAD_CAP_BYTES * 2].decode("utf-8", errors="replace")
    masked = Masker(_all_secrets(trigger_secret)).mask(text.replace("\x00", "\ufffd"))
    cut = masked.encode("utf-8")[:PAYLOAD_CAP_BYTES].decode("utf-8", errors="ignore")
    return cut, len(body) > len(cut.encode("utf-8")) or len(masked) != len(cut)


def _record(trigger: Trigger, *, source: str, body: bytes, secret: str, answer: HookAnswer, outcome: str,
            reason: str = "", executions=(), proposals=()) -> HookAnswer:  # fmt: skip
    payload, truncated = _stored_payload(body, secret)
    Delivery.objects.create(
        trigger=trigger,
        source=source[:100],
        outcome=outcome,
        status_code=answer.status,
        reason=reason[:2000],
        executions=list(executions),
        proposals=list(proposals),
        payload=payload,
        payload_truncated=truncated,
    )
    # Bounded: past the newest KEPT_DELIVERIES, the oldest go.
    stale = (
        Delivery.objects.filter(trigger=trigger).order_by("-at", "-pk").values_list("pk", flat=True)[KEPT_DELIVERIES:]
    )
    Delivery.objects.filter(pk__in=list(stale)).delete()
    return answer


def _rate_limited(trigger: Trigger) -> bool:
    """A fixed one-minute window per trigger, counted in Redis (shared by every web process)."""
    limit = RATE_PER_MINUTE
    window = int(timezone.now().timestamp() // 60)
    key = redis_key("hook-rate", trigger.pk, window)
    connection = redis_connection()
    pipe = connection.pipeline()
    pipe.incr(key)
    pipe.expire(key, 120)
    count, _ = pipe.execute()
    return count > limit


def _execution_ref(execution_id: int) -> dict:
    # A path: the hook view makes it absolute from the request, so the sender's logs link to the run.
    return {"id": execution_id, "url": reverse("executions:detail", args=[execution_id])}


def _proposal_ref(proposal_id: int) -> dict:
    return {"id": proposal_id, "url": reverse("automation:proposal", args=[proposal_id])}


def _starter_problem(trigger: Trigger) -> str:
    person = trigger.created_by
    if person is None or not person.is_active:
        return "The editor who created this trigger no longer exists or is deactivated."
    if not person.has_perm(RUN, trigger.runbook):
        return "The editor who created this trigger no longer holds the runner role on the runbook."
    if trigger.runbook.archived_at is not None:
        return "The runbook is archived."
    return ""


class _Refused(Exception):
    """A delivery refused after authentication: recorded, then answered with `status`."""

    def __init__(self, status: int, reason: str, extra: dict | None = None):
        super().__init__(reason)
        self.status, self.reason, self.extra = status, reason, extra or {}


def _trigger_and_secret(uuid: str) -> tuple[Trigger | None, str]:
    """The trigger of the hook and its secret ("" when disabled or undecryptable: nothing matches it)."""
    trigger = Trigger.objects.active().select_related("runbook", "created_by").filter(uuid=uuid).first()
    secret = ""
    if trigger is not None and trigger.enabled:
        try:
            secret = trigger.secret or ""
        except CredentialDecryptError:
            secret = ""
    return trigger, secret


def _items(trigger: Trigger, body: bytes) -> tuple[list, str]:
    """(the payload's items, why there are none) as the trigger's kind and `per` read it."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Refused(400, "The body is not valid JSON.") from None
    try:
        check_json_values(payload)
        return payloads.items_of(
            kind=trigger.kind, per=trigger.per, include_resolved=trigger.include_resolved, payload=payload
        )
    except InvalidInput as error:
        raise _Refused(400, f"The payload holds values that cannot be stored: {error.errors}") from None
    except ValueError as error:
        raise _Refused(400, str(error)) from None


def _planned_runs(trigger: Trigger, items: list) -> list[tuple]:
    """(item, params, dedup key) for each item, once the trigger may start runs at all."""
    if len(items) > MAX_ITEMS_PER_DELIVERY:
        raise _Refused(413, f"At most {MAX_ITEMS_PER_DELIVERY} runs per delivery; use one run per group.")
    problem = _starter_problem(trigger)
    if problem:
        raise _Refused(403, problem)
    version = runbook_latest_version(trigger.runbook)
    if version is None:
        raise _Refused(422, "The runbook has no published version to run.")
    parameters = version.snapshot.get("parameters") or []
    planned = []
    for item in items:
        try:
            params = params_clean(parameters, payloads.mapped_params(trigger.params, item.context))
        except InvalidInput as error:
            problems = error.errors.get("params", {})
            named = ", ".join(f"{name}: {' '.join(messages)}" for name, messages in problems.items())
            raise _Refused(
                422, f"The payload cannot fill the run's parameters ({named}).", {"params": problems}
            ) from None
        key = item.dedup_key
        if trigger.dedup_path:
            key = payloads.as_text(payloads.path_value(item.context, trigger.dedup_path)) or ""
        planned.append((item, params, key[:500]))
    return planned


def hook_deliver(*, uuid: str, headers, body: bytes, source: str) -> HookAnswer:
    """What `POST /hooks/<uuid>/` answers. Every authenticated delivery is recorded, whatever its outcome."""
    trigger, secret = _trigger_and_secret(uuid)
    # Unknown, disabled and wrong secret: one answer, so the URL alone reveals nothing.
    if trigger is None or not payloads.authenticated(secret=secret, headers=headers, body=body):
        return REFUSED
    try:
        limited = _rate_limited(trigger)
    except redis.RedisError:
        return HookAnswer(503, {"detail": "Redis is not reachable; nothing was started."})
    if limited:
        answer = HookAnswer(429, {"detail": "Too many deliveries for this trigger; try again in a minute."})
        return _record(trigger, source=source, body=body, secret=secret, answer=answer,
                       outcome=DeliveryOutcome.REFUSED, reason="Rate limit reached.")  # fmt: skip
    try:
        items, why_none = _items(trigger, body)
        planned = _planned_runs(trigger, items) if items else []
    except _Refused as refused:
        answer = HookAnswer(refused.status, {"detail": refused.reason, **refused.extra})
        return _record(trigger, source=source, body=body, secret=secret, answer=answer,
                       outcome=DeliveryOutcome.REFUSED, reason=refused.reason)  # fmt: skip
    if not items:
        answer = HookAnswer(202, {"executions": [], "detail": why_none})
        return _record(trigger, source=source, body=body, secret=secret, answer=answer,
                       outcome=DeliveryOutcome.IGNORED, reason=why_none)  # fmt: skip
    return _start_items(trigger, planned, source=source, body=body, secret=secret)


def _claim(trigger: Trigger, key: str, now) -> TriggerFire | list:
    """A new fire for the key, or the earlier fires inside the window (a duplicate)."""
    with transaction.atomic():
        # One delivery of a trigger at a time decides what is a duplicate: two identical
        # deliveries arriving together start one run, not two.
        Trigger.objects.select_for_update().filter(pk=trigger.pk).first()
        if key and trigger.dedup_seconds:
            earlier = list(
                TriggerFire.objects.filter(
                    trigger=trigger, dedup_key=key, at__gte=now - timedelta(seconds=trigger.dedup_seconds)
                ).order_by("at")
            )
            if earlier:
                return earlier
        return TriggerFire.objects.create(trigger=trigger, dedup_key=key, at=now)


def _start_items(trigger: Trigger, planned: list, *, source: str, body: bytes, secret: str) -> HookAnswer:
    now = timezone.now()
    started, proposed, duplicates = [], [], []
    for item, params, key in planned:
        claim = _claim(trigger, key, now)
        if isinstance(claim, list):
            duplicates.extend(claim)
            continue
        if trigger.action == TriggerAction.PROPOSE:
            proposal = Proposal.objects.create(
                trigger=trigger, runbook=trigger.runbook, params=params, summary=item.summary
            )
            TriggerFire.objects.filter(pk=claim.pk).update(proposal=proposal)
            audit_record(actor=f"trigger:{trigger.name}", action="trigger.propose", obj=proposal,
                         detail={"trigger": trigger.pk, "runbook": trigger.runbook_id, "params": sorted(params)})  # fmt: skip
            proposed.append(proposal.pk)
            continue
        try:
            execution = trigger_start_execution(trigger=trigger, params=params)
        except (InvalidInput, PermissionDenied, ServiceUnavailable, Conflict) as error:
            claim.delete()
            status = 503 if isinstance(error, ServiceUnavailable) else 422
            message = str(getattr(error, "errors", "") or error)
            answer = HookAnswer(status, {"detail": f"Could not start the run: {message}",
                                         "executions": [_execution_ref(pk) for pk in started]})  # fmt: skip
            return _record(trigger, source=source, body=body, secret=secret, answer=answer,
                           outcome=DeliveryOutcome.STARTED if started else DeliveryOutcome.REFUSED,
                           reason=f"Could not start the run: {message}", executions=started)  # fmt: skip
        TriggerFire.objects.filter(pk=claim.pk).update(execution=execution)
        started.append(execution.pk)
    earlier_runs = [fire.execution_id for fire in duplicates if fire.execution_id]
    earlier_proposals = [fire.proposal_id for fire in duplicates if fire.proposal_id]
    body_out = {
        "executions": [_execution_ref(pk) for pk in [*started, *earlier_runs]],
    }
    if trigger.action == TriggerAction.PROPOSE:
        body_out["proposals"] = [_proposal_ref(pk) for pk in [*proposed, *earlier_proposals]]
    if started:
        outcome = DeliveryOutcome.STARTED
    elif proposed:
        outcome = DeliveryOutcome.PROPOSED
    else:
        outcome = DeliveryOutcome.DEDUPLICATED
    reason = f"{len(duplicates)} duplicate(s) inside the {trigger.dedup_seconds} s window." if duplicates else ""
    if duplicates:
        body_out["deduplicated"] = len(duplicates)
    return _record(trigger, source=source, body=body, secret=secret, answer=HookAnswer(202, body_out),
                   outcome=outcome, reason=reason, executions=[*started, *earlier_runs],
                   proposals=[*proposed, *earlier_proposals])  # fmt: skip


def trigger_start_execution(*, trigger: Trigger, params: dict) -> Execution:
    """Start the latest published version as the trigger's creator (whose runner role it borrows), then
    mark the run as the trigger's: triggered_by null, trigger set."""
    execution = execution_start(runbook=trigger.runbook, user=trigger.created_by, params=params, version=None)
    Execution.objects.filter(pk=execution.pk).update(trigger=trigger, triggered_by=None)
    execution.trigger, execution.triggered_by = trigger, None
    audit_record(actor=f"trigger:{trigger.name}", action="trigger.fire", obj=execution,
                 detail={"trigger": trigger.pk, "on_behalf_of": trigger.created_by.get_username()})  # fmt: skip
    return execution
