from django.urls import path

from apps.runbooks import api_usage

app_name = "usage-api"

urlpatterns = [
    path("credentials/<int:pk>/usage/", api_usage.credential_usage, name="credential-usage"),
    path("credentials/<int:pk>/usage/<int:runbook_id>/", api_usage.credential_usage_item, name="credential-usage-item"),
]
