from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"

    def ready(self) -> None:
        # Imported once the apps are loaded (the receivers need the auth models): connects them.
        from apps.audit import signals  # noqa: F401
