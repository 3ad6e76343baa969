from django.urls import path

from apps.runbooks.api import runbooks, usage, versions
from apps.runbooks.exchange import api as exchange

app_name = "runbooks-api"

urlpatterns = [
    path("runbooks/", runbooks.runbook_list, name="runbook-list"),
    path("runbooks/<int:pk>/", runbooks.runbook_detail, name="runbook-detail"),
    path("runbooks/<int:pk>/access/", runbooks.runbook_access, name="runbook-access"),
    path("runbooks/<int:pk>/versions/", versions.version_list, name="version-list"),
    path("runbooks/<int:pk>/versions/<int:number>/", versions.version_detail, name="version-detail"),
    path("runbooks/<int:pk>/versions/<int:number>/rollback/", versions.version_rollback, name="version-rollback"),
    path("runbooks/<int:pk>/export", exchange.runbook_export_view, name="runbook-export"),
    path("runbooks/import", exchange.runbook_import_view, name="runbook-import"),
    path("runbooks/<int:pk>/import", exchange.runbook_import_replace_view, name="runbook-import-replace"),
    # A credential's use by runbooks is a runbooks matter (credentials sit below runbooks).
    path("credentials/<int:pk>/usage/", usage.credential_usage, name="credential-usage"),
    path("credentials/<int:pk>/usage/<int:runbook_id>/", usage.credential_usage_item, name="credential-usage-item"),
]
