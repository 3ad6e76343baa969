from django.urls import path

from apps.environments import api

app_name = "environments-api"

urlpatterns = [
    path("environments/", api.environment_collection, name="environment-list"),
    path("environments/<int:pk>/", api.environment_item, name="environment-detail"),
]
