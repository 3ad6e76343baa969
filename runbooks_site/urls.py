from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.views import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="runbooks:list", permanent=False), name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("apps.accounts.urls")),
    path("runbooks/", include("apps.runbooks.urls")),
    path("credentials/", include("apps.credentials.urls")),
    path("audit/", include("apps.audit.urls")),
    path("executions/", include("apps.executions.urls")),
    path("environments/", include("apps.executions.urls_environments")),
    path("api/v1/", include("runbooks_site.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
