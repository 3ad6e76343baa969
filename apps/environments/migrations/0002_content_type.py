# The model's content type follows it: django_content_type's row ("executions",
# "executionenvironment") is relabelled "environments" in place, so everything that points at that
# row keeps working with the same ids — auth permissions (a staff member's
# change_executionenvironment), guardian's object permissions and the admin's log entries. Left
# alone, post_migrate would create a second type under the new label, with new permissions nobody
# holds, and the old ones would be stale. The audit log stores the model name only
# ("executionenvironment"), and simple-history keeps no history of this model: neither changes.

from django.db import migrations

MODEL = "executionenvironment"


def _relabel(apps, schema_editor, old: str, new: str) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects.db_manager(schema_editor.connection.alias)
    moving = content_types.filter(app_label=old, model=MODEL)
    if not moving.exists():
        # A fresh database: post_migrate creates the type under its new label.
        return
    # A type under the new label exists only if post_migrate ran between 0001 and this migration:
    # it holds the permissions Django created then, not grants; the old row carries the grants.
    content_types.filter(app_label=new, model=MODEL).delete()
    moving.update(app_label=new)
    content_types.clear_cache()


def forwards(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, "executions", "environments")


def backwards(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, "environments", "executions")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("environments", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
