"""Live output: the worker tells the channel layer what it stored; consumers push it to browsers.

The database is the record. A publish is only a hint that lets open sockets show a chunk at once:
when Redis hiccups, the worker logs and carries on, and consumers catch up from the database
(they replay after their last seq on connect, on a gap, and on their periodic re-check).

Publishing is synchronous (one group_send per stored chunk, ≈20 a second at most per step because
the output sink batches) on one long-lived event loop per process, so channels-redis keeps its
connection instead of opening one per chunk, and chunks leave in the order they were stored.
"""

import asyncio
import logging
import os
import threading
import time

from channels.layers import get_channel_layer
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

logger = logging.getLogger(__name__)

# A publish that takes longer than this is abandoned: a run must never wait on live viewers.
PUBLISH_TIMEOUT_SECONDS = 1.0
# After a failed publish, skip publishing for a while instead of paying the timeout per chunk.
PAUSE_AFTER_FAILURE_SECONDS = 5.0

_loop_lock = threading.Lock()
_loop_state: dict = {"pid": None, "loop": None}
_paused_until = 0.0


def execution_group(execution_id: int) -> str:
    return f"execution-{execution_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def _publisher_loop() -> asyncio.AbstractEventLoop:
    """This process's publishing loop; a forked RQ work horse gets its own (threads do not survive fork)."""
    with _loop_lock:
        if _loop_state["pid"] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="runbooks-publish", daemon=True).start()
            _loop_state.update(pid=os.getpid(), loop=loop)
        return _loop_state["loop"]


def _send(group: str, message: dict) -> bool:
    """group_send without ever raising; False when it was skipped or failed."""
    global _paused_until
    if time.monotonic() < _paused_until:
        return False
    layer = get_channel_layer()
    if layer is None:
        return False
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _publisher_loop())
    try:
        future.result(timeout=PUBLISH_TIMEOUT_SECONDS)
    except Exception:
        future.cancel()
        _paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS
        logger.warning("Could not publish to %s; live viewers catch up from the database", group, exc_info=True)
        return False
    return True


def publish_chunk(execution_id: int, step_run_id: int, seq: int, text: str) -> bool:
    """Called by the output sink after it stored chunk `seq` (already masked) of a step run."""
    return _send(
        execution_group(execution_id),
        {"type": "execution.chunk", "step_run_id": step_run_id, "seq": seq, "text": text},
    )


def publish_state(execution_id: int) -> bool:
    """Called after the execution or one of its steps changed state; consumers re-read it from the DB."""
    return _send(execution_group(execution_id), {"type": "execution.state"})


def publish_logout(user_id: int) -> bool:
    return _send(user_group(user_id), {"type": "user.logout"})


@receiver(user_logged_out, dispatch_uid="runbooks-close-sockets-on-logout")
def _close_sockets_of_signed_out_user(sender, request, user, **kwargs) -> None:
    # The consumer also re-checks the session on its periodic tick: a missed message only delays the close.
    if user is not None and user.pk is not None:
        publish_logout(user.pk)
