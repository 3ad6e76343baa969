"""Payloads as the real senders shape them, and ways to sign them."""

import hashlib
import hmac
import json


def alertmanager_payload(
    *alerts: dict, status: str = "firing", group_key: str = '{}:{alertname="HighLatency"}'
) -> dict:
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "runbooks",
        "groupLabels": {"alertname": "HighLatency"},
        "commonLabels": {"alertname": "HighLatency", "severity": "page"},
        "commonAnnotations": {"summary": "p95 latency above 2 s"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": list(alerts),
    }


def alert(instance: str, *, status: str = "firing", fingerprint: str | None = None) -> dict:
    return {
        "status": status,
        "labels": {"alertname": "HighLatency", "instance": instance, "severity": "page"},
        "annotations": {"summary": f"p95 latency on {instance}"},
        "startsAt": "2026-12-02T07:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": fingerprint or hashlib.sha256(instance.encode()).hexdigest()[:16],
    }


def pagerduty_payload(event_id: str = "01DEN8R8PDEMO", title: str = "Payments API is down") -> dict:
    return {
        "event": {
            "id": event_id,
            "event_type": "incident.triggered",
            "resource_type": "incident",
            "occurred_at": "2026-12-02T07:00:00.000Z",
            "agent": None,
            "client": None,
            "data": {
                "id": "PGR0VU2",
                "type": "incident",
                "title": title,
                "service": {"id": "PF9KMXH", "type": "service_reference", "summary": "payments-api"},
                "urgency": "high",
            },
        }
    }


def body_of(payload) -> bytes:
    return json.dumps(payload).encode()


def sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
