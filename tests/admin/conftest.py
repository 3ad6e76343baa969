"""The admin's fixtures: a row of every registered model, and the superuser's client."""

import pytest

from apps.accounts.services import api_token_create
from apps.automation.models import Delivery, Proposal, ScheduleFire, TriggerFire
from apps.automation.schedules import schedule_create
from apps.automation.services import trigger_create
from apps.credentials.services import credential_create, credential_grant
from apps.environments.models import ExecutionEnvironment
from apps.executions.models import Execution, OutputChunk, StepRun
from apps.runbooks.models import (
    CredentialRevocation,
    RunbookGroupObjectPermission,
    RunbookUserObjectPermission,
    RunbookVersion,
)
from apps.runbooks.versions import snapshot_hash, snapshot_of


@pytest.fixture
def rows(cast):
    """At least one row of every model this project registers."""
    # Written directly, not through runbook_publish: this fixture only needs a row to display.
    snapshot = snapshot_of(cast.runbook)
    RunbookVersion.objects.create(
        runbook=cast.runbook,
        number=1,
        message="First version",
        author=cast.owner,
        snapshot=snapshot,
        content_hash=snapshot_hash(snapshot),
    )
    execution = Execution.objects.create(
        runbook=cast.runbook, snapshot=snapshot, triggered_by=cast.runner, status="failed"
    )
    step_run = StepRun.objects.create(execution=execution, position=0, block_key="restart", kind="command")
    OutputChunk.objects.create(step_run=step_run, seq=0, data="restarting\n")
    api_token_create(user=cast.viewer, name="laptop")
    credential = credential_create(user=cast.owner, name="deploy-token", kind="token", secret="admin-test-secret")
    credential_grant(credential=credential, actor=cast.owner, principal=cast.team, role="user")
    CredentialRevocation.objects.create(runbook=cast.runbook, credential=credential, revoked_by=cast.owner)
    ExecutionEnvironment.objects.create(name="alpine", image="alpine:3.20")
    trigger, _ = trigger_create(runbook=cast.runbook, user=cast.editor, data={"name": "page", "kind": "generic"})
    TriggerFire.objects.create(trigger=trigger, dedup_key="alert-1", at=execution.created_at, execution=execution)
    Delivery.objects.create(trigger=trigger, outcome="accepted", status_code=202, source="127.0.0.1")
    Proposal.objects.create(trigger=trigger, runbook=cast.runbook, params={})
    schedule = schedule_create(runbook=cast.runbook, user=cast.editor, data={"cron": "0 3 * * *"})
    ScheduleFire.objects.create(schedule=schedule, fire_at=execution.created_at, outcome="started", execution=execution)
    RunbookGroupObjectPermission.objects.create(
        content_object=cast.runbook,
        group=cast.team,
        permission=RunbookUserObjectPermission.objects.first().permission,
    )
    return cast


@pytest.fixture
def operator(client_for, cast):
    return client_for(cast.admin)
