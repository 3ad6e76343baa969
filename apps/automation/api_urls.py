from django.urls import path

from apps.automation import api

app_name = "automation-api"

urlpatterns = [
    path("runbooks/<int:pk>/triggers/", api.trigger_collection, name="runbook-triggers"),
    path("triggers/<int:pk>/", api.trigger_item, name="trigger-detail"),
    path("triggers/<int:pk>/rotate/", api.trigger_rotate, name="trigger-rotate"),
    path("triggers/<int:pk>/deliveries/", api.trigger_deliveries, name="trigger-deliveries"),
    path("runbooks/<int:pk>/schedules/", api.schedule_collection, name="runbook-schedules"),
    path("schedules/<int:pk>/", api.schedule_item, name="schedule-detail"),
    path("runbooks/<int:pk>/notifications/", api.notification_collection, name="runbook-notifications"),
    path("notifications/<int:pk>/", api.notification_item, name="notification-detail"),
]
