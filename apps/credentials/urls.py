from django.urls import path

from apps.credentials import views

app_name = "credentials"

urlpatterns = [
    path("", views.credential_list, name="list"),
    path("new/", views.credential_create, name="create"),
    path("<int:pk>/", views.credential_detail, name="detail"),
    path("<int:pk>/edit/", views.credential_edit, name="edit"),
    path("<int:pk>/delete/", views.credential_delete, name="delete"),
    path("<int:pk>/share/", views.credential_share, name="share"),
    path("<int:pk>/usage/<int:runbook_id>/revoke/", views.credential_usage_revoke, name="usage-revoke"),
    path("<int:pk>/usage/<int:runbook_id>/restore/", views.credential_usage_restore, name="usage-restore"),
]
