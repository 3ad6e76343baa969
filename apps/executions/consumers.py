"""The execution socket, /ws/executions/<id>/: stored output, then live output, never a line twice.

Protocol (server → browser: htmx ws-extension HTML frames, see fragments.py):
- The client says what it already has in the query string, `?after=<step_run_id>:<seq>,…`, or later
  with a text message `{"resume": {"<step_run_id>": <seq>, …}}`; a step it does not name is replayed
  from its first chunk.
- The consumer joins `execution-<id>` BEFORE it reads the backlog, so a chunk stored meanwhile is
  either in the backlog or arrives from the group; it remembers the highest seq sent per step and
  drops group messages at or below it. A gap (a message lost in Redis, a full channel) is filled
  from the database, which always has the chunk before it is published.
- State frames are rendered per socket, for its own user, with the page's templates
  (executions/live/_state.html): the run's header and every step with the buttons THIS person may
  use (Continue, Approve, Skip, Retry, Cancel) and a CSRF token from their cookie, so the frame is
  the page's one update path: no loader fetches buttons afterwards. Output chunks are shared.
- Access is the pages' helper (execution_for_user, VIEW), checked on connect, on every state
  message and every RECHECK_SECONDS; a sign-out (the `user-<id>` group) or a flushed session closes
  the socket too. Close codes: 4401 signed out, 4403 role too weak, 4404 not visible (outsiders,
  anonymous), 1000 when the run is over (the htmx extension does not reconnect on those).
"""

import asyncio
import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from apps.executions import fragments
from apps.executions.actions import step_actions_for
from apps.executions.models import Execution, OutputChunk
from apps.executions.rules import may_cancel
from apps.executions.selectors import execution_for_user, execution_queue_position, execution_steps
from apps.executions.streaming import execution_group, user_group
from apps.runbooks.roles import EDIT, RUN, VIEW

logger = logging.getLogger(__name__)

CLOSE_SIGNED_OUT = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_FINISHED = 1000
# One frame carries at most this much backlog text; a 2 MiB backlog goes out in a few frames.
FRAME_BYTES = 256 * 1024


def recheck_seconds() -> float:
    return float(getattr(settings, "RUNBOOKS_STREAM_RECHECK_SECONDS", 3.0))


def parse_after(value: str) -> dict[int, int]:
    """'12:4,13:0' → {12: 4, 13: 0}; malformed pairs are ignored (they only cost a longer replay)."""
    after: dict[int, int] = {}
    for pair in value.split(","):
        step, _, seq = pair.partition(":")
        try:
            after[int(step)] = int(seq)
        except ValueError:
            continue
    return after


def csrf_token_for(scope) -> str:
    """A CSRF token for the forms in this socket's frames, from the browser's own CSRF cookie
    (as the page's {% csrf_token %} would give); empty without a well-formed cookie, and then the
    page's hx-headers token still lets htmx posts through."""
    secret = (scope.get("cookies") or {}).get(settings.CSRF_COOKIE_NAME, "")
    if len(secret) != 32 or not secret.isalnum():
        return ""
    request = HttpRequest()
    request.META["CSRF_COOKIE"] = secret
    return get_token(request)


def state_frame_for(user, execution, steps, *, csrf_token: str = "") -> str:
    """Every live region of the page for one person, with the page's own templates (and buttons)."""
    context = fragments.state_context(execution, steps)
    context.update(user=user, csrf_token=csrf_token, can_cancel=may_cancel(user, execution))
    for item in context["step_states"]:
        item["actions"] = step_actions_for(user=user, execution=execution, step=item["step"])
    return render_to_string("executions/live/_state.html", context)


class ExecutionConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.execution_id = self.scope["url_route"]["kwargs"]["pk"]
        self.user = self.scope.get("user")
        self.sent: dict[int, int] = {}
        self.step_ids: set[int] = set()
        self.state_signature = None
        self.lock = asyncio.Lock()
        self.joined: list[str] = []
        self.ticker: asyncio.Task | None = None
        self.closed = False
        self.viewer = None  # the user row of the last access check: frames are rendered for it
        self.csrf_token = csrf_token_for(self.scope)
        code = await self._access_refusal()
        # Accept, then close with a code: a refused handshake looks like a network error to the
        # browser (the htmx extension would retry forever); a 44xx close is final and carries no data.
        await self.accept()
        if code:
            await self._close(code)
            return
        for group in (execution_group(self.execution_id), user_group(self.user.pk)):
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.sent = parse_after(",".join(query.get("after", [])))
        async with self.lock:
            await self._catch_up(force_state=True)
        if not self.closed:
            self.ticker = asyncio.create_task(self._tick_forever())

    async def disconnect(self, code) -> None:
        self.closed = True
        if self.ticker is not None:
            self.ticker.cancel()
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = []

    async def receive(self, text_data=None, bytes_data=None) -> None:
        try:
            message = json.loads(text_data or "")
            resume = message["resume"]
            after = {int(step): int(seq) for step, seq in resume.items()}
        except (ValueError, TypeError, KeyError, AttributeError):
            return  # the socket is one-way apart from "resume"; anything else is ignored
        async with self.lock:
            if self.closed:
                return
            # The client states what it has; whatever it lacks is sent again (its word beats our memory).
            self.sent.update({step: seq for step, seq in after.items() if step in self.step_ids})
            await self._catch_up(force_state=False)

    # Channel-layer messages (streaming.py).

    async def execution_chunk(self, event: dict) -> None:
        step_run_id, seq = event["step_run_id"], event["seq"]
        async with self.lock:
            if self.closed or step_run_id not in self.step_ids:
                return
            last = self.sent.get(step_run_id, -1)
            if seq <= last:
                return
            if seq == last + 1:
                self.sent[step_run_id] = seq
                await self.send(text_data=fragments.chunk_frame(step_run_id, seq, event["text"]))
            else:
                await self._catch_up(force_state=False)

    async def execution_state(self, event: dict) -> None:
        async with self.lock:
            await self._recheck(force_state=True)

    async def user_logout(self, event: dict) -> None:
        async with self.lock:
            await self._close(CLOSE_SIGNED_OUT)

    # Internals.

    async def _tick_forever(self) -> None:
        try:
            while not self.closed:
                await asyncio.sleep(recheck_seconds())
                async with self.lock:
                    if not await self._recheck(force_state=False):
                        return
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("Execution socket %s: periodic check failed", self.execution_id)
            await self._close(1011)

    async def _recheck(self, *, force_state: bool) -> bool:
        """Under the lock: close if the user lost access, else send what the page lacks. False once closed."""
        if self.closed:
            return False
        if code := await self._access_refusal():
            await self._close(code)
            return False
        await self._catch_up(force_state=force_state)
        return not self.closed

    async def _close(self, code: int) -> None:
        if not self.closed:
            self.closed = True
            await self.close(code=code)

    @database_sync_to_async
    def _access_refusal(self) -> int:
        """0 when the user may still view the execution, else the close code."""
        if self.user is None or not self.user.is_authenticated:
            return CLOSE_NOT_FOUND
        session = self.scope.get("session")
        if session is not None and session.session_key and not session.exists(session.session_key):
            return CLOSE_SIGNED_OUT
        # A fresh user row each time: permission caches live on the object, and a deactivated
        # account or a revoked role must show on the next check.
        user = get_user_model().objects.filter(pk=self.user.pk, is_active=True).first()
        if user is None:
            return CLOSE_SIGNED_OUT
        try:
            execution_for_user(user, self.execution_id, VIEW)
        except Http404:
            return CLOSE_NOT_FOUND
        except PermissionDenied:
            return CLOSE_FORBIDDEN
        self.viewer = user
        return 0

    async def _catch_up(self, *, force_state: bool) -> None:
        frames, final = await self._missing_frames(force_state)
        for frame in frames:
            await self.send(text_data=frame)
        if final:
            await self._close(CLOSE_FINISHED)

    def _state_frame(self, execution, steps) -> str:
        return state_frame_for(self.viewer, execution, steps, csrf_token=self.csrf_token)

    @database_sync_to_async
    def _missing_frames(self, force_state: bool) -> tuple[list[str], bool]:
        """Frames for every stored chunk after what was sent, then the state if it changed."""
        execution = Execution.objects.select_related("runbook", "triggered_by").filter(pk=self.execution_id).first()
        if execution is None:
            return [], True  # deleted under us (a test clean-up, an admin): nothing more will come
        steps = execution_steps(execution)
        self.step_ids = {step.pk for step in steps}
        frames: list[str] = []
        for step in steps:
            last = self.sent.get(step.pk, -1)
            if step.next_seq <= last + 1:
                continue
            batch: list[OutputChunk] = []
            size = 0
            for chunk in OutputChunk.objects.filter(step_run=step, seq__gt=last).order_by("seq").iterator():
                batch.append(chunk)
                size += len(chunk.data)
                if size >= FRAME_BYTES:
                    frames.append(fragments.chunks_frame(batch))
                    batch, size = [], 0
                self.sent[step.pk] = chunk.seq
            if batch:
                frames.append(fragments.chunks_frame(batch))
        viewer = self.viewer
        # The viewer's role is part of the state: a runner demoted to viewer loses the buttons.
        roles = (viewer.has_perm(RUN, execution.runbook), viewer.has_perm(EDIT, execution.runbook)) if viewer else ()
        signature = (
            roles,
            execution.status,
            execution.error,
            execution.cancel_requested_at,
            # A queued run's place moves as other runs start: the periodic check sends the new header.
            tuple(sorted((execution_queue_position(execution) or {}).items())),
            tuple(
                (step.pk, step.status, step.exit_code, step.error, step.output_truncated, step.finished_at, step.result)
                for step in steps
            ),
        )
        if force_state or signature != self.state_signature:
            self.state_signature = signature
            frames.append(self._state_frame(execution, steps))
        return frames, execution.is_final
