# ExecutionEnvironment now lives in apps.environments (its 0001 took it over in Django's state, on
# the same table); here it leaves executions' state. The table and its rows stay as they are.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("environments", "0001_initial"),
        # No foreign key may point at the old state model when it goes.
        ("runbooks", "0005_environment_moved"),
        ("executions", "0004_executionenvironment_runtime"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ExecutionEnvironment")],
            database_operations=[],
        ),
    ]
