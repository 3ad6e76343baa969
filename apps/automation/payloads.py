"""What a sender's payload means: authentication, the runs it asks for, and the values a mapping takes.

Pure functions over the raw body, the headers and the parsed JSON; services.py decides what to start.
"""

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from apps.automation.models import TriggerKind, TriggerPer

# Grafana lets the contact point name its timestamp header; this is the one our snippets configure.
GRAFANA_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
GRAFANA_TIMESTAMP_HEADER = "X-Grafana-Alerting-Signature-Timestamp"
PAGERDUTY_SIGNATURE_HEADER = "X-PagerDuty-Signature"
GENERIC_SIGNATURE_HEADER = "X-Runbooks-Signature"
# A signed timestamp older (or further ahead) than this is a replay, or a clock badly off.
TIMESTAMP_TOLERANCE_SECONDS = 300
MAX_PATH_PARTS = 12
MAX_SIGNATURES = 10

MISSING = object()


def _digest(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.strip().lower().encode("utf-8", "replace"), expected.encode("ascii"))


class _BadTimestamp(Exception):
    """A Grafana timestamp that is not a number or too far from now: the delivery is refused outright."""


def _bearer(secret: str, headers) -> bool:
    authorization = headers.get("Authorization", "")
    return authorization[:7].lower() == "bearer " and hmac.compare_digest(
        authorization[7:].strip().encode("utf-8", "replace"), secret.encode("utf-8")
    )


def _pagerduty(secret: str, headers, body: bytes) -> bool:
    pagerduty = headers.get(PAGERDUTY_SIGNATURE_HEADER, "")
    if not pagerduty:
        return False
    expected = _digest(secret, body)
    # Several values while PagerDuty rotates its signing secret: any one valid is enough.
    for value in pagerduty.split(",")[:MAX_SIGNATURES]:
        scheme, _, signature = value.strip().partition("=")
        if scheme == "v1" and _same(signature, expected):
            return True
    return False


def _grafana(secret: str, headers, body: bytes, now: float | None) -> bool:
    grafana = headers.get(GRAFANA_SIGNATURE_HEADER, "")
    if not grafana:
        return False
    stamp = headers.get(GRAFANA_TIMESTAMP_HEADER, "")
    if stamp:
        try:
            moment = int(stamp.strip())
        except ValueError:
            raise _BadTimestamp from None
        if abs((now if now is not None else time.time()) - moment) > TIMESTAMP_TOLERANCE_SECONDS:
            raise _BadTimestamp
        message = stamp.strip().encode("ascii") + b":" + body
    else:
        message = body
    return _same(grafana, _digest(secret, message))


def _generic(secret: str, headers, body: bytes) -> bool:
    generic = headers.get(GENERIC_SIGNATURE_HEADER, "")
    if not generic:
        return False
    scheme, _, signature = generic.strip().partition("=")
    return scheme == "sha256" and _same(signature, _digest(secret, body))


def authenticated(*, secret: str, headers, body: bytes, now: float | None = None) -> bool:
    """True when the request carries the secret or a valid signature of the raw body made with it.

    Every way is accepted for every kind, so a sender can switch from a bearer token to signing
    without a new trigger. Comparisons are constant-time.
    """
    if not secret:
        return False
    try:
        return (
            _bearer(secret, headers)
            or _pagerduty(secret, headers, body)
            or _grafana(secret, headers, body, now)
            or _generic(secret, headers, body)
        )
    except _BadTimestamp:
        return False


def path_value(data, path: str):
    """The value at a small dotted path (`alert.labels.instance`, `alerts.0.fingerprint`), or MISSING."""
    value = data
    parts = path.split(".")
    if len(parts) > MAX_PATH_PARTS:
        return MISSING
    for part in parts:
        if isinstance(value, dict):
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def as_text(value) -> str | None:
    """A payload value as a run parameter's text; None when there is nothing."""
    if value is MISSING or value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass
class Item:
    """One run a delivery asks for: what mapping paths see, and its default dedup key ("" = none)."""

    context: dict
    dedup_key: str
    summary: str


def _fingerprint(alert: dict) -> str:
    fingerprint = alert.get("fingerprint")
    if isinstance(fingerprint, str) and fingerprint:
        return fingerprint
    labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]


def _alert_summary(alert: dict) -> str:
    labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
    name = labels.get("alertname") or "alert"
    return " ".join(f"{key}={value}" for key, value in [("alertname", name), *sorted(labels.items())][:4])[:300]


def items_of(*, kind: str, per: str, include_resolved: bool, payload) -> tuple[list[Item], str]:
    """(the runs asked for, why there are none). Raises ValueError with a message for a malformed payload."""
    if not isinstance(payload, dict):
        raise ValueError("The payload must be a JSON object.")
    if kind in (TriggerKind.ALERTMANAGER, TriggerKind.GRAFANA):
        alerts = payload.get("alerts")
        if not isinstance(alerts, list) or not all(isinstance(alert, dict) for alert in alerts):
            raise ValueError("An Alertmanager/Grafana payload has an `alerts` list of objects.")
        group_key = str(payload.get("groupKey") or "")
        chosen = [alert for alert in alerts if include_resolved or alert.get("status", "firing") == "firing"]
        if not chosen:
            return [], "No firing alert in the payload (resolved alerts are ignored)."
        if per == TriggerPer.GROUP:
            fingerprints = ",".join(sorted(_fingerprint(alert) for alert in chosen))
            summary = f"{len(chosen)} alert(s): {_alert_summary(chosen[0])}"
            return [Item({**payload, "alert": chosen[0]}, f"{group_key}|{fingerprints}", summary)], ""
        return [
            Item({**payload, "alert": alert}, f"{group_key}|{_fingerprint(alert)}", _alert_summary(alert))
            for alert in chosen
        ], ""
    if kind == TriggerKind.PAGERDUTY:
        event = payload.get("event")
        if not isinstance(event, dict):
            raise ValueError("A PagerDuty V3 payload has an `event` object.")
        event_type = str(event.get("event_type") or "")
        if not include_resolved and event_type != "incident.triggered":
            return [], f"Event type {event_type or '(none)'} is ignored; only incident.triggered starts runs."
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        return [Item(payload, str(event.get("id") or ""), str(data.get("title") or event_type)[:300])], ""
    return [Item(payload, "", "")], ""


def mapped_params(mapping: dict, context: dict) -> dict[str, str]:
    """{parameter: text} from a trigger's mapping; a path that finds nothing leaves the parameter out."""
    values = {}
    for name, source in mapping.items():
        if source.startswith("="):
            values[name] = source[1:]
            continue
        text = as_text(path_value(context, source))
        if text is not None:
            values[name] = text
    return values
