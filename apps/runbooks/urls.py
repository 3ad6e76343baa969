from django.urls import path

from apps.runbooks import views, views_blocks, views_demo
from apps.runbooks.exchange import views as exchange_views
from apps.runbooks.urls_versions import urlpatterns as version_urlpatterns

app_name = "runbooks"

# Authoring pages (views.py, views_blocks.py); versions, diffs and history live in urls_versions.py.
urlpatterns = [
    path("", views.runbook_list, name="list"),
    path("new", views.runbook_create, name="create"),
    path("demo", views_demo.load_demo, name="load_demo"),
    path("import", exchange_views.runbook_import, name="import"),
    path("preview", views.markdown_preview, name="preview"),
    path("parameter-row", views.parameter_row, name="parameter_row"),
    path("<int:pk>/", views.runbook_detail, name="detail"),
    path("<int:pk>/edit", views.runbook_edit, name="edit"),
    path("<int:pk>/run", views.runbook_run, name="run"),
    path("<int:pk>/archive", views.runbook_archive, name="archive"),
    path("<int:pk>/export", exchange_views.runbook_download, name="export"),
    path("<int:pk>/import", exchange_views.runbook_import_over, name="import_over"),
    path("<int:pk>/share", views.runbook_share, name="share"),
    path("<int:pk>/share/grant", views.share_grant, name="share_grant"),
    path("<int:pk>/share/change", views.share_change, name="share_change"),
    path("<int:pk>/blocks/new", views_blocks.block_new, name="block_new"),
    path("<int:pk>/blocks/", views_blocks.block_create, name="block_create"),
    path("<int:pk>/blocks/reorder", views_blocks.blocks_reorder, name="blocks_reorder"),
    path("<int:pk>/blocks/<int:block_pk>/", views_blocks.block_detail, name="block_detail"),
    path("<int:pk>/blocks/<int:block_pk>/edit", views_blocks.block_edit, name="block_edit"),
    path("<int:pk>/blocks/<int:block_pk>/delete", views_blocks.block_delete, name="block_delete"),
    path("<int:pk>/blocks/<int:block_pk>/move", views_blocks.block_move, name="block_move"),
    *version_urlpatterns,
]
