from django.urls import path

from apps.automation import hooks, views

app_name = "automation"

# Included at the site's root: runbook-scoped pages sit under /runbooks/<pk>/, the rest under /automation/.
urlpatterns = [
    path("hooks/<str:uuid>/", hooks.hook, name="hook"),
    path("runbooks/<int:pk>/triggers/", views.trigger_list, name="triggers"),
    path("automation/triggers/<int:pk>/", views.trigger_detail, name="trigger"),
    path("automation/triggers/<int:pk>/rotate", views.trigger_rotate, name="trigger_rotate"),
    path("automation/triggers/<int:pk>/toggle", views.trigger_toggle, name="trigger_toggle"),
    path("automation/triggers/<int:pk>/delete", views.trigger_delete, name="trigger_delete"),
    path("automation/proposals/<int:pk>/", views.proposal_detail, name="proposal"),
    path("automation/proposals/<int:pk>/start", views.proposal_start, name="proposal_start"),
    path("automation/proposals/<int:pk>/dismiss", views.proposal_dismiss, name="proposal_dismiss"),
    path("runbooks/<int:pk>/schedules/", views.schedule_list, name="schedules"),
    path("automation/schedules/<int:pk>/toggle", views.schedule_toggle, name="schedule_toggle"),
    path("automation/schedules/<int:pk>/delete", views.schedule_delete, name="schedule_delete"),
    path("runbooks/<int:pk>/notifications/", views.notification_list, name="notifications"),
    path("automation/notifications/<int:pk>/delete", views.notification_delete, name="notification_delete"),
]
