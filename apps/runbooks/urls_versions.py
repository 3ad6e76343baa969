from django.urls import path

from apps.runbooks import views_versions

urlpatterns = [
    path("<int:pk>/versions/", views_versions.version_list, name="versions"),
    path("<int:pk>/versions/publish/", views_versions.version_publish, name="publish"),
    path("<int:pk>/versions/<int:number>/", views_versions.version_detail, name="version_detail"),
    path("<int:pk>/versions/<int:number>/restore/", views_versions.version_rollback, name="rollback"),
    path("<int:pk>/diff/", views_versions.version_diff, name="diff"),
    path("<int:pk>/history/", views_versions.history, name="history"),
]
