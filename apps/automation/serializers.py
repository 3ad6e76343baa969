"""Shapes of the automation API (DESIGN.md "Automation and runbooks as code")."""

import zoneinfo

from rest_framework import serializers

from apps.automation.models import (
    AttemptStatus,
    DeliveryOutcome,
    NotificationChannel,
    NotificationEvent,
    TriggerAction,
    TriggerKind,
    TriggerPer,
)
from apps.automation.schedules import schedule_next_times
from apps.core.schema import RequestBody


def _time(value):
    return serializers.DateTimeField().to_representation(value) if value else None


class TriggerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    runbook = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=TriggerKind.choices)
    action = serializers.ChoiceField(choices=TriggerAction.choices)
    per = serializers.ChoiceField(choices=TriggerPer.choices)
    params = serializers.DictField(child=serializers.CharField())
    dedup_seconds = serializers.IntegerField()
    dedup_path = serializers.CharField()
    include_resolved = serializers.BooleanField()
    enabled = serializers.BooleanField()
    url = serializers.CharField(help_text="Where the sender POSTs: /hooks/<uuid>/ (absolute).")
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, trigger) -> dict:
        request = self.context.get("request")
        path = f"/hooks/{trigger.uuid}/"
        return {
            "id": trigger.pk,
            "runbook": trigger.runbook_id,
            "name": trigger.name,
            "kind": trigger.kind,
            "action": trigger.action,
            "per": trigger.per,
            "params": trigger.params,
            "dedup_seconds": trigger.dedup_seconds,
            "dedup_path": trigger.dedup_path,
            "include_resolved": trigger.include_resolved,
            "enabled": trigger.enabled,
            "url": request.build_absolute_uri(path) if request is not None else path,
            "created_by": trigger.created_by.get_username() if trigger.created_by else None,
            "created_at": _time(trigger.created_at),
        }


class TriggerCreatedSerializer(TriggerSerializer):
    secret = serializers.CharField(help_text="Shown in this answer only; never again.")


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="Shown in this answer only; never again.")


class TriggerWriteSerializer(RequestBody):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=TriggerKind.choices, required=False)
    action = serializers.ChoiceField(choices=TriggerAction.choices, required=False)
    per = serializers.ChoiceField(choices=TriggerPer.choices, required=False)
    params = serializers.DictField(
        child=serializers.CharField(), required=False, help_text='{parameter: "dotted.path" or "=constant"}'
    )
    dedup_seconds = serializers.IntegerField(min_value=0, max_value=7 * 86400, required=False)
    dedup_path = serializers.CharField(required=False, allow_blank=True, max_length=200)
    include_resolved = serializers.BooleanField(required=False)
    enabled = serializers.BooleanField(required=False)


class DeliverySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    source = serializers.CharField()
    outcome = serializers.ChoiceField(choices=DeliveryOutcome.choices)
    status_code = serializers.IntegerField()
    reason = serializers.CharField()
    executions = serializers.ListField(child=serializers.IntegerField())
    proposals = serializers.ListField(child=serializers.IntegerField())

    def to_representation(self, delivery) -> dict:
        return {
            "at": _time(delivery.at),
            "source": delivery.source,
            "outcome": delivery.outcome,
            "status_code": delivery.status_code,
            "reason": delivery.reason,
            "executions": delivery.executions,
            "proposals": delivery.proposals,
        }


class ScheduleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    runbook = serializers.IntegerField()
    cron = serializers.CharField()
    timezone = serializers.CharField()
    params = serializers.DictField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    catch_up = serializers.BooleanField()
    next_run_at = serializers.DateTimeField(allow_null=True)
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, schedule) -> dict:
        upcoming = schedule_next_times(schedule, count=1)
        return {
            "id": schedule.pk,
            "runbook": schedule.runbook_id,
            "cron": schedule.cron,
            "timezone": schedule.timezone,
            "params": schedule.params,
            "enabled": schedule.enabled,
            "catch_up": schedule.catch_up,
            "next_run_at": _time(upcoming[0]) if upcoming else None,
            "created_by": schedule.created_by.get_username() if schedule.created_by else None,
            "created_at": _time(schedule.created_at),
        }


def _cron_field(values: str, step: str = r"(/[1-9][0-9]?)?") -> str:
    return rf"(\*{step}|{values}(-{values})?{step})"


# The schema's cron is the common subset (`*`, `*/n`, a value or a range, with an optional step) in
# each field's own range; the API accepts everything croniter does in 5 fields (lists, names …).
CRON_PATTERN = (
    "^"
    + " ".join(
        _cron_field(values)
        for values in (r"[1-5]?[0-9]", r"(1?[0-9]|2[0-3])", r"([1-9]|[12][0-9]|3[01])", r"([1-9]|1[0-2])", r"[0-6]")
    )
    + "$"
)


class ScheduleWriteSerializer(RequestBody):
    cron = serializers.RegexField(CRON_PATTERN, max_length=100, help_text="5 fields: minute hour day month weekday")
    timezone = serializers.ChoiceField(
        choices=sorted(zoneinfo.available_timezones()), required=False, help_text="IANA name; UTC by default"
    )
    params = serializers.DictField(child=serializers.CharField(), required=False)
    enabled = serializers.BooleanField(required=False)
    catch_up = serializers.BooleanField(required=False)


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    runbook = serializers.IntegerField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=NotificationEvent.choices))
    channel = serializers.ChoiceField(choices=NotificationChannel.choices)
    target = serializers.CharField(help_text="A username, group:NAME, or the id of the apprise URL's credential.")
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, notification) -> dict:
        return {
            "id": notification.pk,
            "runbook": notification.runbook_id,
            "events": notification.events,
            "channel": notification.channel,
            "target": notification.target,
            "created_by": notification.created_by.get_username() if notification.created_by else None,
            "created_at": _time(notification.created_at),
        }


class NotificationWriteSerializer(RequestBody):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=NotificationEvent.choices), min_length=1, max_length=5
    )
    channel = serializers.ChoiceField(choices=NotificationChannel.choices)
    target = serializers.CharField(
        max_length=200, help_text="A username, group:NAME, or (apprise) the id of a credential holding the URL."
    )


class NotificationAttemptSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    execution = serializers.IntegerField()
    event = serializers.ChoiceField(choices=NotificationEvent.choices)
    number = serializers.IntegerField()
    status = serializers.ChoiceField(choices=AttemptStatus.choices)
    recipients = serializers.CharField()
    error = serializers.CharField()
