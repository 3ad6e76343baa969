from django.urls import include, path

urlpatterns = [
    path("", include("apps.runbooks.api_urls")),
]
