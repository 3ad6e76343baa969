from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.core.views import healthz

urlpatterns = [
    path(
        "",
        RedirectView.as_view(pattern_name="runbooks:list", permanent=False, http_method_names=["get", "head"]),
        name="home",
    ),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("apps.accounts.urls")),
    path("runbooks/", include("apps.runbooks.urls")),
    path("credentials/", include("apps.credentials.urls")),
    path("audit/", include("apps.audit.urls")),
    path("", include("apps.executions.urls")),
    path("environments/", include("apps.environments.urls")),
    path("", include("apps.automation.urls")),
    path("api/v1/", include("runbooks_site.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's init script as a file, not inline: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
