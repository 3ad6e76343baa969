from django.urls import path

from apps.runbooks import views_versions

urlpatterns = [
    path("<int:pk>/versions/", views_versions.version_list, name="versions"),
    path("<int:pk>/history/", views_versions.history, name="history"),
]
