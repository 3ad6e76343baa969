from django.urls import path

from apps.runbooks import api_versions

app_name = "versions-api"

urlpatterns = [
    path("runbooks/<int:pk>/versions/", api_versions.version_list, name="version-list"),
    path("runbooks/<int:pk>/versions/<int:number>/", api_versions.version_detail, name="version-detail"),
    path("runbooks/<int:pk>/versions/<int:number>/rollback/", api_versions.version_rollback, name="version-rollback"),
]
