from django.urls import path

from apps.environments import api

urlpatterns = [
    path("environments/", api.environment_collection, name="api-environment-list"),
    path("environments/<int:pk>/", api.environment_item, name="api-environment-detail"),
]
