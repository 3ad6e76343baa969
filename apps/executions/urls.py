from django.urls import path

from apps.executions import views, views_gates, views_output

app_name = "executions"

urlpatterns = [
    path("", views.execution_list, name="list"),
    path("<int:pk>/", views.execution_detail, name="detail"),
    path("<int:pk>/cancel", views.execution_cancel_view, name="cancel"),
    path("<int:pk>/decide", views_gates.step_decide, name="step_decide"),
    path("<int:pk>/skip-timer", views_gates.step_skip_timer, name="step_skip_timer"),
    path("<int:pk>/retry", views_gates.execution_retry, name="retry"),
    path("<int:pk>/steps/<int:step_pk>/output", views_output.step_output_page, name="output"),
    path("<int:pk>/steps/<int:step_pk>/output.txt", views_output.step_output_download, name="output_download"),
]
