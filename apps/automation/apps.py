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
        # Schedules fire from the worker's reaper process, which (a lower layer) cannot import them.
        from apps.automation.schedules import automation_start
        from apps.executions.workers import reaper_tick_register

        reaper_tick_register(automation_start)
