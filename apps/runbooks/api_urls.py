from django.urls import path

from apps.runbooks import api

app_name = "runbooks-api"

urlpatterns = [
    path("runbooks/", api.runbook_list, name="runbook-list"),
    path("runbooks/<int:pk>/", api.runbook_detail, name="runbook-detail"),
    path("runbooks/<int:pk>/access/", api.runbook_access, name="runbook-access"),
]
