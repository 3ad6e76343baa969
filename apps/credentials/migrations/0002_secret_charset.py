from django.db import migrations, models

from apps.credentials.fields import CredentialDecryptError, CredentialKeyError


def record_charsets(apps, schema_editor):
    """Once, at migrate time (not in a request): what each stored secret is made of. A secret no key
    decrypts stays unknown (""), and moving it to a header-bound kind will ask for a new one."""
    Credential = apps.get_model("credentials", "Credential")
    for credential in Credential.objects.exclude(secret=None).only("pk", "name", "secret"):
        try:
            secret = credential.secret
        except (CredentialDecryptError, CredentialKeyError):
            continue
        if "\r" in secret or "\n" in secret:
            charset = "text"
        elif all(" " <= char <= "~" or char == "\t" for char in secret):
            charset = "ascii"
        else:
            charset = "line"
        Credential.objects.filter(pk=credential.pk).update(secret_charset=charset)


class Migration(migrations.Migration):
    dependencies = [
        ("credentials", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="credential",
            name="secret_charset",
            field=models.CharField(
                blank=True,
                choices=[("ascii", "Printable ASCII on one line"), ("line", "One line"), ("text", "Several lines")],
                editable=False,
                max_length=5,
            ),
        ),
        migrations.RunPython(record_charsets, migrations.RunPython.noop),
    ]
