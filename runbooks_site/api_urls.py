from django.urls import include, path

# One module per app, each with its own namespace: "<app>-api:<name>", e.g. runbooks-api:runbook-detail.
urlpatterns = [
    path("", include("apps.runbooks.api_urls")),
    path("", include("apps.credentials.api_urls")),
    path("", include("apps.audit.api_urls")),
    path("", include("apps.executions.api_urls")),
    path("", include("apps.environments.api_urls")),
    path("", include("apps.automation.api_urls")),
]
