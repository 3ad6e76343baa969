"""Writes of the automation app: triggers and their hook, proposals, schedules. Pages, the API and the worker call these."""

import json
import re
import secrets
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
from apps.automation.models import (
    Delivery,
    DeliveryOutcome,
    Proposal,
    ProposalStatus,
    Trigger,
    TriggerAction,
    TriggerFire,
    TriggerKind,
    TriggerPer,
)
from apps.core.errors import Conflict, InvalidInput, ServiceUnavailable
from apps.core.text import text_problem
from apps.credentials.fields import CredentialDecryptError
from apps.credentials.masking import Masker
from apps.credentials.models import Credential
from apps.executions.models import Execution
from apps.executions.params import params_clean
from apps.executions.services import execution_start, executions_queue
from apps.runbooks.models import Runbook
from apps.runbooks.roles import EDIT, RUN
from apps.runbooks.versions import runbook_latest_version

TRIGGER_FIELDS = (
    "name",
    "kind",
    "action",
    "per",
    "params",
    "dedup_seconds",
    "dedup_path",
    "include_resolved",
    "enabled",
)
PATH_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){0,11}$")
MAX_MAPPING_ENTRIES = 50
MAX_DEDUP_SECONDS = 7 * 86400
KEPT_DELIVERIES = getattr(settings, "RUNBOOKS_TRIGGER_DELIVERIES_KEPT", 200)
PAYLOAD_CAP_BYTES = 16 * 1024
MAX_ITEMS_PER_DELIVERY = 20
RATE_PER_MINUTE = getattr(settings, "RUNBOOKS_TRIGGER_RATE_PER_MINUTE", 60)


def _secret() -> str:
    return "rbh_" + secrets.token_urlsafe(32)


def _require_edit(user, runbook: Runbook) -> None:
    if not user.has_perm(EDIT, runbook):
        raise PermissionDenied("Only the runbook's editors manage its triggers and schedules.")


def _text(errors: dict, name: str, value, *, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = ["Give text."]
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = ["This field is required."]
    elif len(value) > max_length:
        errors[name] = [f"Keep it under {max_length} characters."]
    elif problem := text_problem(value):
        errors[name] = [problem]
    return value


def _choice(errors: dict, name: str, value, choices) -> str:
    if value not in choices.values:
        errors[name] = [f"Choose one of: {', '.join(choices.values)}."]
        return ""
    return value


def _flag(errors: dict, name: str, value) -> bool:
    if not isinstance(value, bool):
        errors[name] = ["Give true or false."]
        return False
    return value


def mapping_clean(runbook: Runbook, mapping, errors: dict) -> dict[str, str]:
    """{parameter: path or "=constant"}, every name a parameter of the runbook."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict) or len(mapping) > MAX_MAPPING_ENTRIES:
        errors["params"] = [f"Give an object of at most {MAX_MAPPING_ENTRIES} parameter name → source."]
        return {}
    known = {parameter["name"] for parameter in runbook.parameters or []}
    problems = {}
    for name, source in mapping.items():
        if name not in known:
            problems[str(name)] = ["This runbook has no such parameter."]
        elif not isinstance(source, str):
            problems[name] = ['Give a dotted path in the payload, or "=constant".']
        elif source.startswith("="):
            if len(source) > 4096 or text_problem(source):
                problems[name] = ["The constant is too long or holds characters a parameter cannot take."]
        elif not PATH_PATTERN.match(source):
            problems[name] = ['Give a dotted path such as "alert.labels.instance", or "=constant".']
    if problems:
        errors["params"] = problems
    return dict(mapping)


def _trigger_values(runbook: Runbook, data: dict, current: Trigger | None) -> dict:
    errors: dict = {}
    unknown = set(data) - set(TRIGGER_FIELDS)
    for name in sorted(unknown, key=str):
        errors[str(name)] = [f"Unknown field. Fields: {', '.join(TRIGGER_FIELDS)}."]
    base = {name: getattr(current, name) for name in TRIGGER_FIELDS} if current else {}
    merged = {**base, **{name: value for name, value in data.items() if name in TRIGGER_FIELDS}}
    values = {
        "name": _text(errors, "name", merged.get("name"), max_length=100, required=True),
        "kind": _choice(errors, "kind", merged.get("kind", TriggerKind.GENERIC), TriggerKind),
        "action": _choice(errors, "action", merged.get("action", TriggerAction.RUN), TriggerAction),
        "per": _choice(errors, "per", merged.get("per", TriggerPer.ALERT), TriggerPer),
        "params": mapping_clean(runbook, merged.get("params"), errors),
        "dedup_path": _text(errors, "dedup_path", merged.get("dedup_path"), max_length=200),
        "include_resolved": _flag(errors, "include_resolved", merged.get("include_resolved", False)),
        "enabled": _flag(errors, "enabled", merged.get("enabled", True)),
    }
    if values["dedup_path"] and not PATH_PATTERN.match(values["dedup_path"]):
        errors["dedup_path"] = ['Give a dotted path such as "alert.labels.instance".']
    seconds = merged.get("dedup_seconds", 300)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= MAX_DEDUP_SECONDS:
        errors["dedup_seconds"] = [f"Give whole seconds from 0 to {MAX_DEDUP_SECONDS}."]
    values["dedup_seconds"] = seconds if "dedup_seconds" not in errors else 0
    if errors:
        raise InvalidInput(errors)
    return values


def trigger_create(*, runbook: Runbook, user, data: dict) -> tuple[Trigger, str]:
    """(the trigger, its secret): the secret is returned this once and never shown again."""
    _require_edit(user, runbook)
    if not isinstance(data, dict):
        raise InvalidInput({"non_field_errors": ["Send a JSON object."]})
    values = _trigger_values(runbook, data, None)
    secret = _secret()
    trigger = Trigger.objects.create(runbook=runbook, created_by=user, secret=secret, **values)
    audit_record(actor=user, action="trigger.create", obj=trigger, detail={"runbook": runbook.pk, **_shown(values)})
    return trigger, secret


def _shown(values: dict) -> dict:
    return {key: value for key, value in values.items() if key != "params"} | {
        "params": sorted(values.get("params", {}))
    }


def trigger_update(*, trigger: Trigger, user, data: dict) -> Trigger:
    _require_edit(user, trigger.runbook)
    if not isinstance(data, dict):
        raise InvalidInput({"non_field_errors": ["Send a JSON object."]})
    values = _trigger_values(trigger.runbook, data, trigger)
    for name, value in values.items():
        setattr(trigger, name, value)
    trigger.save(update_fields=[*values, "updated_at"])
    audit_record(actor=user, action="trigger.update", obj=trigger, detail=_shown(values))
    return trigger


def trigger_rotate(*, trigger: Trigger, user) -> str:
    """A new secret; the old one stops working at once."""
    _require_edit(user, trigger.runbook)
    secret = _secret()
    trigger.secret = secret
    trigger.save(update_fields=["secret", "updated_at"])
    audit_record(actor=user, action="trigger.rotate", obj=trigger, detail={})
    return secret


def trigger_delete(*, trigger: Trigger, user) -> None:
    """Soft delete: the hook answers like an unknown one, the secret is wiped, history keeps the name."""
    _require_edit(user, trigger.runbook)
    trigger.deleted_at = timezone.now()
    trigger.enabled = False
    trigger.secret = None
    trigger.save(update_fields=["deleted_at", "enabled", "secret", "updated_at"])
    audit_record(actor=user, action="trigger.delete", obj=trigger, detail={"name": trigger.name})


# --- the hook ---------------------------------------------------------------------------------


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
    key = f"runbooks:hook-rate:{trigger.pk}:{window}"
    connection = executions_queue().connection
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


def hook_deliver(*, uuid: str, headers, body: bytes, source: str) -> HookAnswer:
    """What `POST /hooks/<uuid>/` answers. Every authenticated delivery is recorded, whatever its outcome."""
    trigger = Trigger.objects.active().select_related("runbook", "created_by").filter(uuid=uuid).first()
    secret = ""
    if trigger is not None and trigger.enabled:
        try:
            secret = trigger.secret or ""
        except CredentialDecryptError:
            secret = ""
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

    def refuse(status: int, reason: str, extra: dict | None = None) -> HookAnswer:
        answer = HookAnswer(status, {"detail": reason, **(extra or {})})
        return _record(trigger, source=source, body=body, secret=secret, answer=answer,
                       outcome=DeliveryOutcome.REFUSED, reason=reason)  # fmt: skip

    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return refuse(400, "The body is not valid JSON.")
    try:
        from apps.core.api import check_json_values

        check_json_values(payload)
        items, why_none = payloads.items_of(
            kind=trigger.kind, per=trigger.per, include_resolved=trigger.include_resolved, payload=payload
        )
    except InvalidInput as error:
        return refuse(400, f"The payload holds values that cannot be stored: {error.errors}")
    except ValueError as error:
        return refuse(400, str(error))
    if not items:
        answer = HookAnswer(202, {"executions": [], "detail": why_none})
        return _record(trigger, source=source, body=body, secret=secret, answer=answer,
                       outcome=DeliveryOutcome.IGNORED, reason=why_none)  # fmt: skip
    if len(items) > MAX_ITEMS_PER_DELIVERY:
        return refuse(413, f"At most {MAX_ITEMS_PER_DELIVERY} runs per delivery; use one run per group.")
    problem = _starter_problem(trigger)
    if problem:
        return refuse(403, problem)
    version = runbook_latest_version(trigger.runbook)
    if version is None:
        return refuse(422, "The runbook has no published version to run.")
    parameters = version.snapshot.get("parameters") or []
    planned = []
    for item in items:
        try:
            params = params_clean(parameters, payloads.mapped_params(trigger.params, item.context))
        except InvalidInput as error:
            problems = error.errors.get("params", {})
            named = ", ".join(f"{name}: {' '.join(messages)}" for name, messages in problems.items())
            return refuse(422, f"The payload cannot fill the run's parameters ({named}).", {"params": problems})
        key = item.dedup_key
        if trigger.dedup_path:
            key = payloads.as_text(payloads.path_value(item.context, trigger.dedup_path)) or ""
        planned.append((item, params, key[:500]))
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


# --- proposals --------------------------------------------------------------------------------


def proposal_start(*, proposal: Proposal, user) -> Execution:
    """A runner starts a proposed run: it runs as them (they become triggered_by), with the proposed values."""
    if not user.has_perm(RUN, proposal.runbook):
        raise PermissionDenied("Only the runbook's runners can start a proposed run.")
    with transaction.atomic():
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        if locked.status != ProposalStatus.WAITING:
            raise Conflict(f"This proposal was already {locked.get_status_display().lower()}.")
        locked.status = ProposalStatus.STARTED
        locked.decided_by, locked.decided_at = user, timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at"])
    try:
        execution = execution_start(runbook=proposal.runbook, user=user, params=locked.params, version=None)
    except Exception:
        Proposal.objects.filter(pk=proposal.pk).update(status=ProposalStatus.WAITING, decided_by=None, decided_at=None)
        raise
    Proposal.objects.filter(pk=proposal.pk).update(execution=execution)
    Execution.objects.filter(pk=execution.pk).update(trigger=proposal.trigger)
    audit_record(actor=user, action="proposal.start", obj=proposal, detail={"execution": execution.pk})
    return execution


def proposal_dismiss(*, proposal: Proposal, user) -> None:
    if not user.has_perm(RUN, proposal.runbook):
        raise PermissionDenied("Only the runbook's runners can dismiss a proposed run.")
    updated = Proposal.objects.filter(pk=proposal.pk, status=ProposalStatus.WAITING).update(
        status=ProposalStatus.DISMISSED, decided_by=user, decided_at=timezone.now()
    )
    if not updated:
        raise Conflict("This proposal was already decided.")
    audit_record(actor=user, action="proposal.dismiss", obj=proposal, detail={})
