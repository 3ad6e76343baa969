from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "apps.automation"
    label = "automation"
    verbose_name = "Automation (triggers, schedules, notifications)"

    def ready(self) -> None:
        # The engine (a lower layer) announces run events by a signal; notifications listen here.
        from apps.automation.notifications import on_execution_event
        from apps.executions.events import execution_event

        execution_event.connect(on_execution_event, dispatch_uid="automation-notifications")
