"""RQ entry points of automation: they take ids, load nothing themselves, and call one service.

Notifications go to the default queue, not the executions one: a slow mail server or webhook must
never take a slot a run could use.
"""

from datetime import timedelta

import django_rq

from apps.automation import notifications

QUEUE_NAME = "default"


def _queue():
    return django_rq.get_queue(QUEUE_NAME)


def dispatch_notifications(execution_id: int, event: str, step_key: str = "") -> None:
    notifications.notifications_dispatch(execution_id=execution_id, event=event, step_key=step_key)


def send_notification(notification_id: int, execution_id: int, event: str, step_key: str, number: int) -> str:
    return notifications.notification_send(
        notification_id=notification_id, execution_id=execution_id, event=event, step_key=step_key, number=number
    )


def enqueue_dispatch(*, execution_id: int, event: str, step_key: str = "") -> None:
    _queue().enqueue(dispatch_notifications, execution_id, event, step_key, job_timeout=60)


def enqueue_send(*, notification_id: int, execution_id: int, event: str, step_key: str, number: int,
                 delay: timedelta | None = None) -> None:  # fmt: skip
    arguments = (send_notification, notification_id, execution_id, event, step_key, number)
    if delay:
        _queue().enqueue_in(delay, *arguments, job_timeout=60)
    else:
        _queue().enqueue(*arguments, job_timeout=60)
