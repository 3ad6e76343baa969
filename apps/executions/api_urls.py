from django.urls import path

from apps.executions import api

app_name = "executions-api"

urlpatterns = [
    path("runbooks/<int:pk>/executions/", api.execution_create, name="runbook-executions"),
    path("executions/", api.execution_list, name="execution-list"),
    path("executions/<int:pk>/", api.execution_detail, name="execution-detail"),
    path("executions/<int:pk>/cancel/", api.execution_cancel, name="execution-cancel"),
    path("executions/<int:pk>/steps/<str:key>/confirm/", api.execution_step_confirm, name="execution-step-confirm"),
    path("executions/<int:pk>/retry/", api.execution_retry, name="execution-retry"),
]
