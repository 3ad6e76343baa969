from django.apps import AppConfig


class RunbooksConfig(AppConfig):
    name = "apps.runbooks"
    label = "runbooks"

    def ready(self) -> None:
        # Imported here, not at module level: the app registry must be ready before models load.
        from apps.credentials.usage import register_usage_provider
        from apps.runbooks.usage import RunbookUsage

        register_usage_provider(RunbookUsage())
