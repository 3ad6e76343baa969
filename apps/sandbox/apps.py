from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """The Docker sandbox of command steps (worker side only): no models, imports only apps.core."""

    name = "apps.sandbox"
    label = "sandbox"
