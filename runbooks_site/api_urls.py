from django.urls import include, path

# One module per area, each owned by its app.
urlpatterns = [
    path("", include("apps.runbooks.api_urls")),
    path("", include("apps.runbooks.api_urls_versions")),
    path("", include("apps.runbooks.api_urls_exchange")),
    path("", include("apps.credentials.api_urls")),
    path("", include("apps.runbooks.api_urls_usage")),
    path("", include("apps.audit.api_urls")),
    path("", include("apps.executions.api_urls")),
    path("", include("apps.environments.api_urls")),
    path("", include("apps.automation.api_urls")),
]
