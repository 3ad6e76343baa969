from django.urls import path

from apps.credentials import api

urlpatterns = [
    path("credentials/", api.credential_collection, name="api-credential-list"),
    path("credentials/<int:pk>/", api.credential_item, name="api-credential-detail"),
    path("credentials/<int:pk>/access/", api.credential_access, name="api-credential-access"),
]
