from django.urls import path

from apps.audit import api

app_name = "audit-api"

urlpatterns = [
    path("audit/", api.audit_list, name="audit-list"),
]
