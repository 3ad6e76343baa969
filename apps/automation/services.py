"""Writes of triggers and proposals. Pages and the API call these.

What a trigger's hook does with a delivery is apps.automation.deliveries; schedules are
apps.automation.schedules, notifications apps.automation.notifications.
"""

import re
import secrets

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.automation.models import (
    Proposal,
    ProposalStatus,
    Trigger,
    TriggerAction,
    TriggerKind,
    TriggerPer,
)
from apps.core.errors import Conflict, InvalidInput
from apps.core.text import text_problem
from apps.executions.models import Execution
from apps.executions.services.start import execution_start
from apps.runbooks.models import Runbook
from apps.runbooks.roles import EDIT, RUN

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
