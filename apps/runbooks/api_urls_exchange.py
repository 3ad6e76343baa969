from django.urls import path

from apps.runbooks.exchange import api

app_name = "exchange-api"

urlpatterns = [
    path("runbooks/<int:pk>/export", api.runbook_export_view, name="runbook-export"),
    path("runbooks/import", api.runbook_import_view, name="runbook-import"),
    path("runbooks/<int:pk>/import", api.runbook_import_replace_view, name="runbook-import-replace"),
]
