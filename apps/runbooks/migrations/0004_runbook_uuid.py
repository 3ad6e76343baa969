import uuid

from django.db import migrations, models


def fill_uuids(apps, schema_editor):
    """One fresh uuid per existing runbook (a column default would give them all the same one), and
    the same uuid on that runbook's history rows."""
    Runbook = apps.get_model("runbooks", "Runbook")
    HistoricalRunbook = apps.get_model("runbooks", "HistoricalRunbook")
    for pk in Runbook.objects.filter(uuid__isnull=True).values_list("pk", flat=True).iterator():
        value = uuid.uuid4()
        Runbook.objects.filter(pk=pk).update(uuid=value)
        HistoricalRunbook.objects.filter(id=pk).update(uuid=value)
    # History of runbooks deleted since: any uuid, so the column can be made non-null.
    for history_id in HistoricalRunbook.objects.filter(uuid__isnull=True).values_list("history_id", flat=True):
        HistoricalRunbook.objects.filter(history_id=history_id).update(uuid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("runbooks", "0003_credentialrevocation"),
    ]

    operations = [
        migrations.AddField(model_name="runbook", name="uuid", field=models.UUIDField(null=True, editable=False)),
        migrations.AddField(
            model_name="historicalrunbook", name="uuid", field=models.UUIDField(null=True, editable=False)
        ),
        migrations.RunPython(fill_uuids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="runbook",
            name="uuid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="historicalrunbook",
            name="uuid",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
    ]
