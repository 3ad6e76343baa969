from django.apps import AppConfig


class ExecutionsConfig(AppConfig):
    name = "apps.executions"
    label = "executions"

    def ready(self) -> None:
        # Imported here, once the apps are loaded, to connect receivers in every process (web,
        # worker, management commands), not only where some module happens to import them:
        # the sign-out receiver that closes a user's live sockets, the one that queues the
        # environment builds apps.environments asks for, and the runbook page's Run controls
        # (runbooks, a lower layer, cannot import them).
        from apps.environments.signals import environment_build_requested
        from apps.executions import streaming  # noqa: F401
        from apps.executions.builds import enqueue_build_requested
        from apps.executions.views.start import runbook_run_context
        from apps.runbooks.page_context import runbook_page_provider

        environment_build_requested.connect(enqueue_build_requested, dispatch_uid="executions.enqueue_build")
        runbook_page_provider(runbook_run_context)
