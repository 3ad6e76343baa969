from django.urls import path

from apps.credentials import api

app_name = "credentials-api"

urlpatterns = [
    path("credentials/", api.credential_collection, name="credential-list"),
    path("credentials/<int:pk>/", api.credential_item, name="credential-detail"),
    path("credentials/<int:pk>/access/", api.credential_access, name="credential-access"),
]
