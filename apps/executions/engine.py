"""The execution engine: claims a run, walks its steps through the block executors, records outcomes.

Invariants:
- The engine alone changes Execution/StepRun states; executors only return StepOutcomes.
- At most once: a step found `running` when a run is claimed or resumed belongs to a worker that
  died; it is never run again (the run ends `incomplete`, see apps.executions.reaper).
- A claimed run holds a lease renewed by a heartbeat thread; a worker that dies stops renewing,
  and the reaper marks the run `incomplete` instead of leaving it "running" forever.
"""

import logging
import os
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from apps.audit.services import audit_record
from apps.blocks.executors.base import StepContext, StepOutcome, executor_for
from apps.credentials.fields import CredentialDecryptError, CredentialKeyError
from apps.credentials.models import Credential
from apps.credentials.selectors import credential_ids_of_config
from apps.credentials.services import credential_use, secret_header_problem
from apps.executions.events import execution_event_send
from apps.executions.models import Execution, ExecutionStatus, OutputChunk, StepRun, StepStatus
from apps.executions.output import StepOutput, publish_state
from apps.executions.slots import CLAIMED, execution_claim, slots_release
from apps.runbooks.usage import revoked_credential_ids
from apps.sandbox.containers import wait_for_removals
from apps.sandbox.labels import step_labels
from apps.sandbox.run import run_container

logger = logging.getLogger(__name__)

LEASE_SECONDS = 30
HEARTBEAT_SECONDS = 10
# How often the walk looks for a cancel request while a step runs; cancel must act within 5 s.
CANCEL_POLL_SECONDS = 1.0
# What earlier steps' `output` carries into later steps (conditional expressions, env vars).
STEP_OUTPUT_FOR_LATER_STEPS = 64 * 1024


def worker_name() -> str:
    return f"{socket.gethostname()}/{os.getpid()}"


@dataclass(frozen=True)
class DecryptedCredential:
    """A credential with its secret, for one step only. The repr never shows the secret."""

    id: int
    name: str
    kind: str
    username: str
    header_name: str
    secret: str

    def __repr__(self) -> str:
        return f"<DecryptedCredential {self.id} {self.name}>"


class Heartbeat(threading.Thread):
    """Renews the run's lease while the walk holds it.

    The worker runs jobs in its own process (apps.executions.workers), so a worker killed even by SIGKILL
    takes its walk and this thread with it: the lease runs out and the reaper marks the run
    incomplete and removes its container.
    """

    def __init__(self, execution_id: int, name: str):
        super().__init__(name=f"heartbeat-{execution_id}", daemon=True)
        self.execution_id = execution_id
        self.worker = name
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                self.renew()
        finally:
            connection.close()

    def renew(self) -> None:
        try:
            Execution.objects.filter(
                pk=self.execution_id, status=ExecutionStatus.RUNNING, worker_name=self.worker
            ).update(lease_expires_at=timezone.now() + timedelta(seconds=LEASE_SECONDS))
        except Exception:
            # A missed renewal is harmless (the lease is three beats long); the next one retries.
            logger.warning("Lease renewal of execution %s failed", self.execution_id, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


class CancelWatch:
    """is_cancelled() for executors: a cheap read of cancel_requested_at, at most once a second."""

    def __init__(self, execution_id: int):
        self.execution_id = execution_id
        self.cancelled = False
        self._checked = 0.0

    def __call__(self) -> bool:
        if not self.cancelled and time.monotonic() - self._checked >= CANCEL_POLL_SECONDS:
            self._checked = time.monotonic()
            self.cancelled = Execution.objects.filter(pk=self.execution_id, cancel_requested_at__isnull=False).exists()
        return self.cancelled

    def now(self) -> bool:
        self._checked = 0.0
        return self()


# --- entry points (apps.executions.jobs) ------------------------------------------------------


def execution_run(*, execution_id: int) -> None:
    """Claim a queued run and walk it. A run already claimed, cancelled or finished is left alone."""
    name = worker_name()
    # A runbook whose slots are all taken leaves the run queued; a freed slot enqueues it again.
    if execution_claim(execution_id=execution_id, worker=name, lease_seconds=LEASE_SECONDS) == CLAIMED:
        execution_event_send(execution_id=execution_id, event="started")
        _walk_claimed(execution_id, name)


def execution_resume(*, execution_id: int) -> None:
    """Continue a waiting run from next_position (after a gate, a timer or a skip)."""
    name = worker_name()
    now = timezone.now()
    claimed = Execution.objects.filter(
        pk=execution_id, status=ExecutionStatus.WAITING, cancel_requested_at__isnull=True
    ).update(status=ExecutionStatus.RUNNING, worker_name=name, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS))
    if claimed:
        _walk_claimed(execution_id, name)


def _walk_claimed(execution_id: int, name: str) -> None:
    publish_state(execution_id)
    heartbeat = Heartbeat(execution_id, name)
    heartbeat.start()
    try:
        _walk(Execution.objects.select_related("triggered_by").get(pk=execution_id))
    finally:
        heartbeat.stop()
        # The run's state is recorded; its containers must be gone before the job ends.
        wait_for_removals()
        # Whatever the walk left the run as (finished, waiting, lost), its slot is free now.
        slots_release(execution_id=execution_id)


# --- the walk --------------------------------------------------------------------------------


def _step_view(step: StepRun) -> dict:
    """What later steps see of an earlier one: {status, exit_code, output, result}."""
    output, size = [], 0
    for data in OutputChunk.objects.filter(step_run=step).order_by("seq").values_list("data", flat=True):
        output.append(data)
        size += len(data)
        if size >= STEP_OUTPUT_FOR_LATER_STEPS:
            break
    return {
        "status": step.status,
        "exit_code": step.exit_code,
        "output": "".join(output)[:STEP_OUTPUT_FOR_LATER_STEPS],
        "result": step.result,
    }


class StepError(Exception):
    """A step that cannot even start (a missing credential …): it fails with this message."""


def _credential_refusal(execution: Execution, block: dict, found: dict[int, Credential]) -> str | None:
    """Why the block may not use its credentials in this run (deleted, or revoked from the runbook
    by a credential owner), or None. Checked for every version: an old one may carry anything."""
    ids = sorted(credential_ids_of_config(block["kind"], block.get("config") or {}))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        return f"Credential #{missing[0]} attached to this block no longer exists."
    revoked = revoked_credential_ids(execution.runbook_id) & set(ids)
    if revoked:
        return f"Credential “{found[min(revoked)].name}” is no longer granted to this runbook."
    return None


def _refuse_credentials(execution: Execution, block: dict, found: dict[int, Credential], reason: str) -> StepError:
    for credential in found.values():
        audit_record(
            actor=execution.triggered_by or "system",
            action="credential.use_refused",
            obj=credential,
            detail={"name": credential.name, "execution": execution.pk, "block": block["key"], "reason": reason},
        )
    return StepError(reason)


def _preflight(execution: Execution, steps: list[StepRun], blocks: dict[str, dict]) -> tuple[StepRun, str] | None:
    """The first step still to run whose credentials are refused: the run fails before anything runs."""
    for step in steps[execution.next_position :]:
        if step.status != StepStatus.PENDING:
            continue
        block = blocks[step.block_key]
        ids = credential_ids_of_config(block["kind"], block.get("config") or {})
        if not ids:
            continue
        found = {credential.pk: credential for credential in Credential.objects.filter(pk__in=ids)}
        reason = _credential_refusal(execution, block, found)
        if reason:
            _refuse_credentials(execution, block, found, reason)
            return step, reason
    return None


def _decrypt_credentials(execution: Execution, block: dict) -> dict[int, DecryptedCredential]:
    """The block's credentials, decrypted; each use is recorded (audit + last_used_at)."""
    ids = sorted(credential_ids_of_config(block["kind"], block.get("config") or {}))
    found = {credential.pk: credential for credential in Credential.objects.filter(pk__in=ids)}
    reason = _credential_refusal(execution, block, found)
    if reason:
        raise _refuse_credentials(execution, block, found, reason)
    credentials = {}
    for pk in ids:
        credential = found[pk]
        try:
            secret = credential.secret
        except (CredentialDecryptError, CredentialKeyError):
            raise StepError(
                f"The secret of credential “{credential.name}” cannot be decrypted with the configured keys."
            ) from None
        if block["kind"] == "api_call" and secret_header_problem(secret, credential.kind):
            # Saved before the header rule existed: say so instead of crashing in httpx.
            raise StepError(
                f"The secret of credential “{credential.name}” cannot be sent in an HTTP header; "
                "its owner must enter a new one."
            )
        credentials[pk] = DecryptedCredential(
            id=pk,
            name=credential.name,
            kind=credential.kind,
            username=credential.username,
            header_name=credential.header_name,
            secret=secret,
        )
        credential_use(
            credential=credential,
            actor=execution.triggered_by or "system",
            execution_id=execution.pk,
            block_key=block["key"],
        )
    return credentials


def _lose(execution: Execution, step: StepRun) -> None:
    """A step found running at claim time ran under a dead worker: never re-run it."""
    from apps.executions.reaper import execution_mark_incomplete

    execution_mark_incomplete(execution_id=execution.pk, reason_step=step.block_key)


def _finish_steps(execution: Execution, status: str, *, statuses=(StepStatus.PENDING,)) -> None:
    execution.steps.filter(status__in=statuses).update(status=status, finished_at=timezone.now())


def _finish(execution: Execution, status: str, error: str = "") -> None:
    now = timezone.now()
    if status == ExecutionStatus.CANCELLED:
        _finish_steps(execution, StepStatus.CANCELLED, statuses=(StepStatus.PENDING, StepStatus.WAITING))
    else:
        _finish_steps(execution, StepStatus.SKIPPED, statuses=(StepStatus.PENDING,))
    updated = Execution.objects.filter(pk=execution.pk, status=ExecutionStatus.RUNNING).update(
        status=status, finished_at=now, lease_expires_at=None, error=error
    )
    if updated:
        audit_record(
            actor=execution.triggered_by or "system",
            action="execution.finish",
            obj=execution,
            detail={"status": status, "error": error} if error else {"status": status},
        )
        execution_event_send(execution_id=execution.pk, event=status)
    publish_state(execution.pk)


def _suspend(execution: Execution, step: StepRun, position: int, outcome: StepOutcome) -> None:
    wait = outcome.wait
    step.status = StepStatus.WAITING
    step.result = {
        **(outcome.result or {}),
        "wait": {"reason": wait.reason, "until": wait.until.isoformat() if wait.until else None},
    }
    step.save(update_fields=["status", "result"])
    Execution.objects.filter(pk=execution.pk, status=ExecutionStatus.RUNNING).update(
        status=ExecutionStatus.WAITING, next_position=position, lease_expires_at=None, worker_name=""
    )
    execution_event_send(execution_id=execution.pk, event="waiting", gate=wait.reason, step_key=step.block_key)
    if wait.until is not None:
        from apps.executions.gates import timer_job_id
        from apps.executions.jobs import resume_execution
        from apps.executions.services import executions_queue

        # A fixed id: skipping the timer unschedules it. Nothing else holds the run meanwhile.
        executions_queue().enqueue_at(
            timer_due(wait.until), resume_execution, execution.pk, job_id=timer_job_id(execution.pk, step.pk),
            job_timeout=-1,
        )  # fmt: skip
    publish_state(execution.pk)


def timer_due(until):
    """When to schedule a timer's continuation: RQ's scheduler keeps whole seconds (it truncates),
    so a continuation scheduled at 12:00:00.9 would come at 12:00:00, before the timer is over,
    find it still running and leave the run waiting with nothing left to wake it. Round up."""
    if until.microsecond:
        return until.replace(microsecond=0) + timedelta(seconds=1)
    return until


# A continuation this early still counts (clocks of the scheduler's and this worker's hosts differ
# a little): going back to waiting would leave the run with nothing to resume it.
TIMER_EARLY_TOLERANCE = timedelta(seconds=1)


def _waiting_step_ready(step: StepRun) -> bool:
    """A timer whose time has come is done; a gate still waiting needs someone's decision first."""
    wait = (step.result or {}).get("wait") or {}
    if wait.get("reason") == "timer" and wait.get("until"):
        from django.utils.dateparse import parse_datetime

        until = parse_datetime(wait["until"])
        return until is not None and until <= timezone.now() + TIMER_EARLY_TOLERANCE
    return False


def _walk(execution: Execution) -> None:
    steps = list(execution.steps.order_by("position"))
    blocks = {block["key"]: block for block in execution.snapshot.get("blocks") or []}
    earlier = {step.block_key: _step_view(step) for step in steps if step.is_final and step.status != "skipped"}
    cancel = CancelWatch(execution.pk)
    failed_errors: list[str] = []
    refused = _preflight(execution, steps, blocks)
    if refused is not None:
        step, reason = refused
        now = timezone.now()
        StepRun.objects.filter(pk=step.pk, status=StepStatus.PENDING).update(
            status=StepStatus.FAILED, error=reason, started_at=now, finished_at=now
        )
        _finish(execution, ExecutionStatus.FAILED, f"Step {step.block_key} failed: {reason}")
        return
    position = execution.next_position
    while position < len(steps):
        step = steps[position]
        if cancel.now():
            _finish(execution, ExecutionStatus.CANCELLED, "Cancelled.")
            return
        if step.status == StepStatus.RUNNING:
            _lose(execution, step)
            return
        if step.status == StepStatus.WAITING:
            if not _waiting_step_ready(step):
                Execution.objects.filter(pk=execution.pk, status=ExecutionStatus.RUNNING).update(
                    status=ExecutionStatus.WAITING, next_position=position, lease_expires_at=None, worker_name=""
                )
                publish_state(execution.pk)
                return
            step.status = StepStatus.SUCCEEDED
            step.finished_at = timezone.now()
            step.save(update_fields=["status", "finished_at"])
        if step.is_final:
            # Resolved while the run waited (a gate passed, a timer skipped), or carried from a retry.
            earlier[step.block_key] = _step_view(step)
            position += 1
            continue

        block = blocks[step.block_key]
        Execution.objects.filter(pk=execution.pk).update(next_position=position)
        started = StepRun.objects.filter(pk=step.pk, status=StepStatus.PENDING).update(
            status=StepStatus.RUNNING, started_at=timezone.now()
        )
        if not started:
            _lose(execution, step)
            return
        step.refresh_from_db()
        publish_state(execution.pk)
        outcome = _run_step(execution, step, block, earlier, cancel)

        if outcome.wait is not None and outcome.status == StepStatus.WAITING:
            _suspend(execution, step, position, outcome)
            return
        step.status = outcome.status
        step.exit_code = outcome.exit_code
        step.result = outcome.result or {}
        step.error = outcome.error or ""
        step.finished_at = timezone.now()
        step.container_id = str(step.result.get("container_id", "")) if step.kind == "command" else ""
        step.save(update_fields=["status", "exit_code", "result", "error", "finished_at", "container_id"])
        earlier[step.block_key] = _step_view(step)

        if outcome.status == StepStatus.CANCELLED or cancel.now():
            _finish(execution, ExecutionStatus.CANCELLED, "Cancelled.")
            return
        if outcome.status == StepStatus.TIMED_OUT:
            _finish(execution, ExecutionStatus.TIMED_OUT, outcome.error or f"Step {step.block_key} timed out.")
            return
        if outcome.status == StepStatus.FAILED:
            message = outcome.error or (f"exit code {outcome.exit_code}" if outcome.exit_code is not None else "failed")
            if not (block.get("config") or {}).get("continue_on_error"):
                _finish(execution, ExecutionStatus.FAILED, f"Step {step.block_key} failed: {message}")
                return
            failed_errors.append(step.block_key)
        action = outcome.action or "continue"
        if action == "stop":
            _finish(execution, ExecutionStatus.SUCCEEDED)
            return
        if action == "fail":
            _finish(
                execution, ExecutionStatus.FAILED, outcome.error or f"Step {step.block_key} ended the run as failed."
            )
            return
        if action.startswith("goto:"):
            target = action.removeprefix("goto:")
            later = [index for index in range(position + 1, len(steps)) if steps[index].block_key == target]
            if not later:
                _finish(
                    execution, ExecutionStatus.FAILED, f"Step {step.block_key} jumps to “{target}”, not a later step."
                )
                return
            skipped = [steps[index].pk for index in range(position + 1, later[0])]
            StepRun.objects.filter(pk__in=skipped, status=StepStatus.PENDING).update(
                status=StepStatus.SKIPPED, finished_at=timezone.now()
            )
            for index in range(position + 1, later[0]):
                steps[index].status = StepStatus.SKIPPED
            position = later[0]
            continue
        position += 1
    _finish(execution, ExecutionStatus.SUCCEEDED)


def _run_step(execution: Execution, step: StepRun, block: dict, earlier: dict, cancel: CancelWatch) -> StepOutcome:
    """Call the block's executor; whatever goes wrong becomes a failed step, never a dead worker."""
    try:
        credentials = _decrypt_credentials(execution, block)
    except StepError as error:
        return StepOutcome(status=StepStatus.FAILED, error=str(error))
    output = StepOutput(
        execution_id=execution.pk, step_run=step, secrets=[credential.secret for credential in credentials.values()]
    )
    context = StepContext(
        execution_id=execution.pk,
        step_run_id=step.pk,
        block=block,
        params=dict(execution.params or {}),
        steps=dict(earlier),
        environment=dict(execution.environment or {}),
        credentials=credentials,
        output=output,
        is_cancelled=cancel,
        labels=step_labels(execution_id=execution.pk, step_key=block["key"]),
        # Recorded before the step runs: the reaper finds a dead worker's container by it.
        on_container=lambda container_id: StepRun.objects.filter(pk=step.pk).update(container_id=container_id[:12]),
        # Command steps run their container through the sandbox: blocks get it here, never import it.
        run_container=run_container,
    )
    try:
        outcome = executor_for(block["kind"])(context)
    except Exception as error:
        # The frames only, never the exception's message: a message can quote the value that broke
        # the executor (a UnicodeEncodeError quotes the character of a secret it could not encode).
        logger.error(
            "Executor %s crashed in execution %s with %s:\n%s",
            block["kind"], execution.pk, type(error).__name__, "".join(traceback.format_tb(error.__traceback__)),
        )  # fmt: skip
        outcome = StepOutcome(
            status=StepStatus.FAILED, error=f"Internal error in the {block['kind']} step ({type(error).__name__})."
        )
    finally:
        try:
            output.flush()
        except Exception:
            logger.exception("Could not store the last output of step run %s", step.pk)
    if not isinstance(outcome, StepOutcome):
        outcome = StepOutcome(status=StepStatus.FAILED, error="The executor returned no outcome.")
    # One masking rule for everything a step leaves behind: result and error are shown like output.
    outcome.result = output.mask_data(outcome.result or {})
    outcome.error = output.mask_data(outcome.error or "")
    return outcome
