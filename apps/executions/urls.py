from django.urls import path

from apps.executions.views import gates, output, runs, start

app_name = "executions"

# Included at the site's root: the Run form sits under its runbook (/runbooks/<pk>/run), the rest under /executions/.
urlpatterns = [
    path("runbooks/<int:pk>/run", start.runbook_run, name="start"),
    path("executions/", runs.execution_list, name="list"),
    path("executions/<int:pk>/", runs.execution_detail, name="detail"),
    path("executions/<int:pk>/cancel", runs.execution_cancel_view, name="cancel"),
    path("executions/<int:pk>/decide", gates.step_decide, name="step_decide"),
    path("executions/<int:pk>/skip-timer", gates.step_skip_timer, name="step_skip_timer"),
    path("executions/<int:pk>/retry", gates.execution_retry, name="retry"),
    path("executions/<int:pk>/steps/<int:step_pk>/output", output.step_output_page, name="output"),
    path("executions/<int:pk>/steps/<int:step_pk>/output.txt", output.step_output_download, name="output_download"),
]
