"""RQ entry points of automation: they take ids, load nothing themselves, and call one service.

The services enqueue them by dotted path (apps.automation.notifications), so nothing imports this
module and it may import the services without a cycle.
"""

from apps.automation import notifications


def dispatch_notifications(execution_id: int, event: str, step_key: str = "") -> None:
    notifications.notifications_dispatch(execution_id=execution_id, event=event, step_key=step_key)


def send_notification(notification_id: int, execution_id: int, event: str, step_key: str, number: int) -> str:
    return notifications.notification_send(
        notification_id=notification_id, execution_id=execution_id, event=event, step_key=step_key, number=number
    )
