from django.urls import path

from apps.runbooks import views
from apps.runbooks.urls_versions import urlpatterns as version_urlpatterns

app_name = "runbooks"

# Authoring pages (views.py); versions, diffs and history live in urls_versions.py.
urlpatterns = [
    path("", views.runbook_list, name="list"),
    *version_urlpatterns,
]
