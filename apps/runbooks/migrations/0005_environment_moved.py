# ExecutionEnvironment moved from apps.executions to apps.environments with its table unchanged:
# the foreign keys point at the same table, so only Django's state changes.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("environments", "0001_initial"),
        ("runbooks", "0004_runbook_uuid"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="runbook",
                    name="environment",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="runbooks",
                        to="environments.executionenvironment",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalrunbook",
                    name="environment",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="environments.executionenvironment",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
