"""Starting a run: pick the content (a published version, or the draft for editors), freeze its
environment, create the run and its steps, queue it."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.core.errors import InvalidInput
from apps.environments.models import ExecutionEnvironment
from apps.executions.models import Execution, StepRun, StepStatus
from apps.executions.params import params_clean
from apps.executions.queue import QueueUnavailable, enqueue_run, queue_ping
from apps.executions.rules import approval_gates_before, require_version_runnable
from apps.runbooks.models import Runbook, RunbookVersion
from apps.runbooks.roles import EDIT, RUN
from apps.runbooks.selectors import runbook_for_user
from apps.runbooks.versions import runbook_latest_version, snapshot_of

NO_PUBLISHED_VERSION = "This runbook has no published version yet; editors can run the draft."


def _pick_snapshot(runbook: Runbook, user, version) -> tuple[RunbookVersion | None, dict]:
    """(version row or None for the draft, the content to run)."""
    if version is None or version == "":
        latest = runbook_latest_version(runbook)
        if latest is None:
            raise InvalidInput({"version": [NO_PUBLISHED_VERSION]})
        return latest, latest.snapshot
    if version == "draft":
        if not user.has_perm(EDIT, runbook):
            raise PermissionDenied("Only editors can run the draft; runners run published versions.")
        return None, snapshot_of(runbook)
    number = None
    if isinstance(version, int) and not isinstance(version, bool):
        number = version
    elif isinstance(version, str) and version.strip().isdigit() and len(version.strip()) < 10:
        number = int(version)
    if number is None or not 0 < number < 2**31:
        raise InvalidInput({"version": ['Give a version number, "draft", or nothing for the latest published.']})
    row = RunbookVersion.objects.filter(runbook=runbook, number=number).first()
    if row is None:
        raise InvalidInput({"version": [f"This runbook has no version {number}."]})
    require_version_runnable(runbook, user, row)
    return row, row.snapshot


def _passed_by_start(item: dict, user, now) -> dict:
    """A confirm gate run on its own is passed by the click that started the run."""
    if item.get("kind") != "instruction" or (item.get("config") or {}).get("gate") != "confirm":
        return {}
    return {
        "status": StepStatus.SUCCEEDED,
        "result": {"gate": "confirm", "decision": "continue", "by": user.get_username(), "at": now.isoformat()},
        "confirmed_by": user,
        "confirmed_at": now,
        "started_at": now,
        "finished_at": now,
    }


def _environment_snapshot(snapshot: dict) -> dict:
    """The image and limits the run's containers get, frozen at start so history shows what ran."""
    environment = None
    if snapshot.get("environment"):
        environment = ExecutionEnvironment.objects.filter(pk=snapshot["environment"]).first()
    if environment is None:
        environment = ExecutionEnvironment.objects.filter(is_default=True).order_by("pk").first()
    if environment is None:
        raise InvalidInput(
            {
                "environment": [
                    "This runbook has no execution environment and there is no default one; ask staff to add one."
                ]
            }
        )
    image = environment.image
    if environment.dockerfile and environment.build_status == "ready" and environment.built_image:
        image = environment.built_image
    if not image:
        if environment.dockerfile:
            state = {"failed": "failed to build", "building": "is still building"}.get(
                environment.build_status, "has not been built yet"
            )
            message = f"The environment “{environment.name}” has no usable image: its Dockerfile {state}."
        else:
            message = f"The environment “{environment.name}” has no image."
        raise InvalidInput({"environment": [message]})
    return {
        "id": environment.pk,
        "name": environment.name,
        "image": image,
        "network": environment.network,
        "runtime": environment.runtime,
        "memory_mb": environment.memory_mb,
        "cpus": float(environment.cpus),
        "pids_limit": environment.pids_limit,
        "timeout_seconds": environment.timeout_seconds,
        "env": dict(environment.env or {}),
    }


def execution_start(
    *,
    runbook: Runbook,
    user,
    params: dict | None = None,
    block: str | None = None,
    version: int | str | None = None,
) -> Execution:
    """Queue a full run, or a run of one block, of a published version (or the draft, for editors)."""
    runbook = runbook_for_user(user, runbook.pk, RUN)
    version_row, snapshot = _pick_snapshot(runbook, user, version)
    blocks = snapshot.get("blocks") or []
    if block in (None, ""):
        mode, chosen = Execution.Mode.FULL, list(enumerate(blocks))
    else:
        matches = [(position, item) for position, item in enumerate(blocks) if item["key"] == block]
        if not isinstance(block, str) or not matches:
            raise InvalidInput({"block": [f"This runbook has no block “{block}” in the version being run."]})
        position = matches[0][0]
        guards = [(index, blocks[index]) for index in approval_gates_before(blocks, position)]
        mode, chosen = Execution.Mode.BLOCK, [*guards, *matches]
    cleaned_params = params_clean(snapshot.get("parameters") or [], params)
    environment = _environment_snapshot(snapshot)

    # Before anything is written: a run that could never be queued must not appear in history.
    queue_ping()

    now = timezone.now()
    with transaction.atomic():
        execution = Execution.objects.create(
            runbook=runbook,
            version=version_row,
            draft=version_row is None,
            snapshot=snapshot,
            environment=environment,
            mode=mode,
            block_key=block if mode == Execution.Mode.BLOCK else "",
            params=cleaned_params,
            triggered_by=user,
        )
        StepRun.objects.bulk_create(
            StepRun(
                execution=execution,
                position=index,
                block_key=item["key"],
                kind=item["kind"],
                title=item.get("title") or "",
                **(_passed_by_start(item, user, now) if mode == Execution.Mode.BLOCK else {}),
            )
            for index, (_, item) in enumerate(chosen)
        )
    try:
        enqueue_run(execution.pk)
    except QueueUnavailable:
        execution.delete()
        raise
    audit_record(
        actor=user,
        action="execution.start",
        obj=execution,
        detail={
            "runbook": runbook.pk,
            "version": version_row.number if version_row else None,
            "draft": version_row is None,
            "mode": mode,
            "block": block if mode == Execution.Mode.BLOCK else None,
            "params": sorted(cleaned_params),
        },
    )
    return execution
