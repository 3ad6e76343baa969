from django.urls import path

from apps.runbooks.exchange import views as exchange
from apps.runbooks.views import authoring, blocks, demo, sharing, versions

app_name = "runbooks"

# The Run form (/runbooks/<pk>/run) is the executions app's: executions:start.
urlpatterns = [
    path("", authoring.runbook_list, name="list"),
    path("new", authoring.runbook_create, name="create"),
    path("demo", demo.load_demo, name="load_demo"),
    path("import", exchange.runbook_import, name="import"),
    path("preview", authoring.markdown_preview, name="preview"),
    path("parameter-row", authoring.parameter_row, name="parameter_row"),
    path("<int:pk>/", authoring.runbook_detail, name="detail"),
    path("<int:pk>/edit", authoring.runbook_edit, name="edit"),
    path("<int:pk>/archive", authoring.runbook_archive, name="archive"),
    path("<int:pk>/export", exchange.runbook_download, name="export"),
    path("<int:pk>/import", exchange.runbook_import_over, name="import_over"),
    path("<int:pk>/share", sharing.runbook_share, name="share"),
    path("<int:pk>/share/grant", sharing.share_grant, name="share_grant"),
    path("<int:pk>/share/change", sharing.share_change, name="share_change"),
    path("<int:pk>/blocks/new", blocks.block_new, name="block_new"),
    path("<int:pk>/blocks/", blocks.block_create, name="block_create"),
    path("<int:pk>/blocks/reorder", blocks.blocks_reorder, name="blocks_reorder"),
    path("<int:pk>/blocks/<int:block_pk>/", blocks.block_detail, name="block_detail"),
    path("<int:pk>/blocks/<int:block_pk>/edit", blocks.block_edit, name="block_edit"),
    path("<int:pk>/blocks/<int:block_pk>/delete", blocks.block_delete, name="block_delete"),
    path("<int:pk>/blocks/<int:block_pk>/move", blocks.block_move, name="block_move"),
    path("<int:pk>/versions/", versions.version_list, name="versions"),
    path("<int:pk>/versions/publish/", versions.version_publish, name="publish"),
    path("<int:pk>/versions/<int:number>/", versions.version_detail, name="version_detail"),
    path("<int:pk>/versions/<int:number>/restore/", versions.version_rollback, name="rollback"),
    path("<int:pk>/diff/", versions.version_diff, name="diff"),
    path("<int:pk>/history/", versions.history, name="history"),
]
