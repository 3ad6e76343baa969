from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "apps.executions"
    label = "executions"

    def ready(self) -> None:
        # Connects the sign-out receiver that closes a user's live sockets, in every process
        # (web, worker, management commands), not only where the ASGI app happens to import it.
        from apps.executions import streaming  # noqa: F401
