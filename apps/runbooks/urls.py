from django.urls import path

from apps.runbooks import views

app_name = "runbooks"

urlpatterns = [
    path("", views.runbook_list, name="list"),
]
