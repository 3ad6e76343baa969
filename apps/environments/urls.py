from django.urls import path

from apps.environments import views

app_name = "environments"

urlpatterns = [
    path("", views.environment_list, name="list"),
    path("new", views.environment_create, name="create"),
    path("<int:pk>/", views.environment_detail, name="detail"),
    path("<int:pk>/edit", views.environment_edit, name="edit"),
    path("<int:pk>/delete", views.environment_delete, name="delete"),
    path("<int:pk>/rebuild", views.environment_rebuild, name="rebuild"),
]
