"""The objects every route of the matrix points at, built once per module (tests roll back to them).

Each route gets an object in the state where its action can happen: a queued run to cancel, a
run waiting at a confirm gate to decide, a running timer to skip, a failed run to retry, a
revoked credential use to restore. `World.ids` names them; the routes' URL parameters and the
expected redirects are filled from it.
"""

from dataclasses import dataclass, field

from django.utils import timezone

from apps.accounts.services import api_token_create
from apps.automation.models import Proposal
from apps.automation.notifications import notification_create
from apps.automation.schedules import schedule_create
from apps.automation.services import trigger_create
from apps.credentials.services import credential_create, credential_grant
from apps.environments.models import ExecutionEnvironment
from apps.executions.models import Execution, StepRun
from apps.executions.services.start import execution_start
from apps.runbooks.models import Runbook
from apps.runbooks.services.runbooks import runbook_create, runbook_update
from apps.runbooks.usage import credential_usage_revoke
from apps.runbooks.versions import runbook_publish
from tests.support.factories import CAST, build_cast

IMAGE = "runbooks-test-busybox:latest"


@dataclass
class World:
    cast: object
    ids: dict[str, int | str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def revision(self, name: str = "runbook") -> int:
        return Runbook.objects.get(pk=self.ids[name]).revision


def _run(world: World, name: str, *, status: str, steps: list[tuple[str, str, dict]]) -> None:
    """A run of cast.runbook's latest version in `status`, with (block key, step status, result) steps."""
    runbook = world.cast.runbook
    version = runbook.versions.get(number=2)
    now = timezone.now()
    execution = Execution.objects.create(
        runbook=runbook, version=version, snapshot=version.snapshot, status=status, triggered_by=world.cast.runner,
        started_at=now, finished_at=None if status in ("running", "waiting") else now,
    )  # fmt: skip
    for position, (key, step_status, result) in enumerate(steps):
        StepRun.objects.create(
            execution=execution, position=position, block_key=key, kind="instruction", status=step_status,
            result=result, started_at=now,
        )  # fmt: skip
    world.ids[name] = execution.pk


def _runs(world: World) -> None:
    cast = world.cast
    done = {"intro": ("succeeded", {}), "restart": ("succeeded", {})}
    _run(world, "execution", status="succeeded", steps=[(key, *value) for key, value in done.items()])
    world.ids["step"] = StepRun.objects.get(execution_id=world.ids["execution"], block_key="intro").pk
    world.ids["step_key"] = "intro"
    wait = {"wait": {"reason": "confirm"}}
    _run(world, "waiting", status="waiting", steps=[("intro", "waiting", wait), ("restart", "pending", {})])
    timer = {"wait": {"reason": "timer"}}
    _run(world, "timer", status="waiting", steps=[("intro", "waiting", timer), ("restart", "pending", {})])
    _run(world, "failed", status="failed", steps=[("intro", "succeeded", {}), ("restart", "failed", {})])
    world.ids["queued"] = execution_start(runbook=cast.runbook, user=cast.runner).pk


def _automation(world: World) -> None:
    cast = world.cast
    trigger, _ = trigger_create(runbook=cast.runbook, user=cast.editor, data={"name": "matrix-hook"})
    world.ids |= {"trigger": trigger.pk, "uuid": str(trigger.uuid)}
    world.ids["proposal"] = Proposal.objects.create(trigger=trigger, runbook=cast.runbook, params={}).pk
    world.ids["schedule"] = schedule_create(runbook=cast.runbook, user=cast.editor, data={"cron": "0 3 * * *"}).pk
    notification = notification_create(
        runbook=cast.runbook, user=cast.editor, data={"events": ["failed"], "channel": "email", "target": "viewer"}
    )
    world.ids["notification"] = notification.pk


def _credentials(world: World) -> None:
    cast = world.cast
    credential = credential_create(user=cast.owner, name="deploy-token", kind="token", secret="matrix-secret-value")
    credential_grant(credential=credential, actor=cast.owner, principal=cast.editor, role="user")
    world.ids["credential"] = credential.pk
    # One nothing uses, to delete.
    spare = credential_create(user=cast.owner, name="spare-token", kind="token", secret="spare-secret-value")
    credential_grant(credential=spare, actor=cast.owner, principal=cast.editor, role="user")
    world.ids["spare_credential"] = spare.pk
    blocks = [{"key": "call", "kind": "command", "config": {"script": "true", "credentials": [credential.pk]}}]
    # The usage routes answer only for a runbook that uses the credential; one use is revoked already.
    world.ids["using"] = runbook_create(user=cast.owner, title="Uses the token", blocks=blocks).pk
    revoked = runbook_create(user=cast.owner, title="Used the token", blocks=blocks)
    credential_usage_revoke(credential=credential, runbook_id=revoked.pk, user=cast.owner)
    world.ids["revoked"] = revoked.pk


def build_world() -> World:
    cast = build_cast()
    world = World(cast=cast, ids={"runbook": cast.runbook.pk})
    environment = ExecutionEnvironment.objects.create(name="matrix-env", image=IMAGE, is_default=True)
    world.ids["environment"] = environment.pk
    world.ids["spare"] = ExecutionEnvironment.objects.create(name="spare", dockerfile="FROM scratch\n").pk
    # v1 and v2 published, then a draft change: there is something to publish and to roll back to.
    runbook_publish(runbook=cast.runbook, user=cast.owner, message="First")
    runbook_update(runbook=cast.runbook, user=cast.owner, revision=cast.runbook.revision, title="Second")
    cast.runbook.refresh_from_db()
    runbook_publish(runbook=cast.runbook, user=cast.owner, message="Second")
    cast.runbook.refresh_from_db()
    runbook_update(runbook=cast.runbook, user=cast.owner, revision=cast.runbook.revision, title="Unpublished")
    cast.runbook.refresh_from_db()
    world.ids["number"] = 1
    world.ids["block"] = cast.runbook.blocks.get(key="restart").pk
    world.ids["token"] = api_token_create(user=cast.owner, name="laptop")[0].pk
    for person in CAST:
        world.tokens[person] = api_token_create(user=getattr(cast, person), name="matrix")[1]
    _credentials(world)
    _runs(world)
    _automation(world)
    return world
