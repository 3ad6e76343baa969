from django.urls import path

from apps.executions import views

app_name = "executions"

urlpatterns = [
    path("", views.execution_list, name="list"),
    path("<int:pk>/", views.execution_detail, name="detail"),
    path("<int:pk>/cancel", views.execution_cancel_view, name="cancel"),
]
