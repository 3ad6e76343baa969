"""`/api/v1/` routes of triggers, schedules and notifications: thin callers of the services."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from apps.automation import notifications, schedules, services
from apps.automation.selectors import (
    deliveries_of,
    notification_for_user,
    notifications_of,
    schedule_for_user,
    schedules_of,
    trigger_for_user,
    triggers_of,
)
from apps.automation.serializers import (
    DeliverySerializer,
    NotificationSerializer,
    NotificationWriteSerializer,
    ScheduleSerializer,
    ScheduleWriteSerializer,
    SecretSerializer,
    TriggerCreatedSerializer,
    TriggerSerializer,
    TriggerWriteSerializer,
)
from apps.runbooks.roles import EDIT
from apps.runbooks.selectors import runbook_for_user

READ_ONLY = {"id", "runbook", "url", "created_by", "created_at", "next_run_at"}


def _changes(data) -> dict:
    if not isinstance(data, dict):
        return data  # the service refuses it with a field error
    return {name: value for name, value in data.items() if name not in READ_ONLY}


@extend_schema(
    request=TriggerWriteSerializer, responses={200: TriggerSerializer(many=True), 201: TriggerCreatedSerializer}
)
@api_view(["GET", "POST"])
def trigger_collection(request: Request, pk: int) -> Response:
    runbook = runbook_for_user(request.user, pk, EDIT)
    if request.method == "POST":
        trigger, secret = services.trigger_create(runbook=runbook, user=request.user, data=_changes(request.data))
        data = TriggerSerializer(trigger, context={"request": request}).data | {"secret": secret}
        return Response(data, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(triggers_of(runbook), request)
    return paginator.get_paginated_response(TriggerSerializer(page, many=True, context={"request": request}).data)


@extend_schema(request=TriggerWriteSerializer, responses=TriggerSerializer)
@api_view(["GET", "PATCH", "DELETE"])
def trigger_item(request: Request, pk: int) -> Response:
    trigger = trigger_for_user(request.user, pk)
    if request.method == "PATCH":
        trigger = services.trigger_update(trigger=trigger, user=request.user, data=_changes(request.data))
    elif request.method == "DELETE":
        services.trigger_delete(trigger=trigger, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(TriggerSerializer(trigger, context={"request": request}).data)


@extend_schema(request=None, responses=SecretSerializer)
@api_view(["POST"])
def trigger_rotate(request: Request, pk: int) -> Response:
    trigger = trigger_for_user(request.user, pk)
    secret = services.trigger_rotate(trigger=trigger, user=request.user)
    return Response({"secret": secret}, headers={"Cache-Control": "no-store"})


@extend_schema(responses=DeliverySerializer(many=True))
@api_view(["GET"])
def trigger_deliveries(request: Request, pk: int) -> Response:
    trigger = trigger_for_user(request.user, pk)
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(deliveries_of(trigger), request)
    return paginator.get_paginated_response(DeliverySerializer(page, many=True).data)


@extend_schema(request=ScheduleWriteSerializer, responses={200: ScheduleSerializer(many=True), 201: ScheduleSerializer})
@api_view(["GET", "POST"])
def schedule_collection(request: Request, pk: int) -> Response:
    runbook = runbook_for_user(request.user, pk, EDIT)
    if request.method == "POST":
        schedule = schedules.schedule_create(runbook=runbook, user=request.user, data=_changes(request.data))
        return Response(ScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(schedules_of(runbook).select_related("created_by"), request)
    return paginator.get_paginated_response(ScheduleSerializer(page, many=True).data)


@extend_schema(request=ScheduleWriteSerializer, responses=ScheduleSerializer)
@api_view(["GET", "PATCH", "DELETE"])
def schedule_item(request: Request, pk: int) -> Response:
    schedule = schedule_for_user(request.user, pk)
    if request.method == "PATCH":
        schedule = schedules.schedule_update(schedule=schedule, user=request.user, data=_changes(request.data))
    elif request.method == "DELETE":
        schedules.schedule_delete(schedule=schedule, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(ScheduleSerializer(schedule).data)


@extend_schema(
    request=NotificationWriteSerializer,
    responses={200: NotificationSerializer(many=True), 201: NotificationSerializer},
)
@api_view(["GET", "POST"])
def notification_collection(request: Request, pk: int) -> Response:
    runbook = runbook_for_user(request.user, pk, EDIT)
    if request.method == "POST":
        notification = notifications.notification_create(
            runbook=runbook, user=request.user, data=_changes(request.data)
        )
        return Response(NotificationSerializer(notification).data, status=status.HTTP_201_CREATED)
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(notifications_of(runbook), request)
    return paginator.get_paginated_response(NotificationSerializer(page, many=True).data)


@extend_schema(request=None, responses={204: None})
@api_view(["DELETE"])
def notification_item(request: Request, pk: int) -> Response:
    notification = notification_for_user(request.user, pk)
    notifications.notification_delete(notification=notification, user=request.user)
    return Response(status=status.HTTP_204_NO_CONTENT)
