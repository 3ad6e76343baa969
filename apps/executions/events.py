"""What the engine tells the layers above about a run: started, waiting on a gate, finished.

Executions cannot import the apps above it (automation's notifications), so it sends a signal they
listen to. Sent robustly: a listener's failure is logged and never touches the run.
"""

import logging

from django.dispatch import Signal

logger = logging.getLogger(__name__)

# kwargs: execution_id, event ("started", "waiting", or a final status), gate ("approval", "confirm", "timer"),
# step_key.
execution_event = Signal()


def execution_event_send(*, execution_id: int, event: str, gate: str = "", step_key: str = "") -> None:
    for _receiver, result in execution_event.send_robust(
        sender=None, execution_id=execution_id, event=event, gate=gate, step_key=step_key
    ):
        if isinstance(result, Exception):
            logger.error("A listener of execution %s's %s event failed: %r", execution_id, event, result)
