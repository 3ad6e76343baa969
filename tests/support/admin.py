"""What the admin tests share: the registered models, admin URLs and the runbook change form's post."""

import json

from django.contrib import admin
from django.urls import reverse

from apps.accounts.models import ApiToken
from apps.audit.models import AuditChainHead, AuditEvent
from apps.automation.models import Delivery, Proposal, Schedule, ScheduleFire, Trigger, TriggerFire
from apps.credentials.models import Credential, CredentialGroupObjectPermission, CredentialUserObjectPermission
from apps.environments.models import ExecutionEnvironment
from apps.executions.models import Execution, OutputChunk, StepRun
from apps.runbooks.models import (
    Block,
    CredentialRevocation,
    Runbook,
    RunbookGroupObjectPermission,
    RunbookUserObjectPermission,
    RunbookVersion,
)

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)
# django-rq registers an unmanaged placeholder model whose "changelist" is its Redis dashboard.
TABLES = [model for model in REGISTERED if model._meta.managed]
READ_ONLY = [
    RunbookVersion,
    AuditEvent,
    AuditChainHead,
    RunbookUserObjectPermission,
    RunbookGroupObjectPermission,
    CredentialUserObjectPermission,
    CredentialGroupObjectPermission,
    Execution,
    StepRun,
    OutputChunk,
    CredentialRevocation,
    # Automation changes through its pages and API only, where the editor rule and the audit apply.
    Trigger,
    TriggerFire,
    Delivery,
    Proposal,
    Schedule,
    ScheduleFire,
]
OURS = [Runbook, Block, ApiToken, ExecutionEnvironment, Credential, *READ_ONLY]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def runbook_post_data(runbook: Runbook, **changes) -> dict:
    """What the runbook change form posts, blocks as the inline formset, with `changes` applied."""
    blocks = changes.pop("blocks", None)
    if blocks is None:
        blocks = [
            {"id": block.pk, "key": block.key, "title": block.title, "kind": block.kind, "config": block.config}
            for block in runbook.blocks.all()
        ]
    data = {
        "title": runbook.title,
        "description": runbook.description,
        "tags": ", ".join(sorted(runbook.tags.names())),
        "environment": runbook.environment_id or "",
        "parameters": json.dumps(runbook.parameters),
        "owner": runbook.owner_id,
        "opened_revision": runbook.revision,
        "blocks-TOTAL_FORMS": len(blocks),
        "blocks-INITIAL_FORMS": sum(1 for block in blocks if block.get("id")),
        "blocks-MIN_NUM_FORMS": 0,
        "blocks-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for index, block in enumerate(blocks):
        prefix = f"blocks-{index}-"
        data |= {
            f"{prefix}id": block.get("id", ""),
            f"{prefix}runbook": runbook.pk,
            f"{prefix}position": block.get("position", index),
            f"{prefix}key": block["key"],
            f"{prefix}title": block.get("title", ""),
            f"{prefix}kind": block["kind"],
            f"{prefix}config": json.dumps(block["config"]),
        }
        if block.get("DELETE"):
            data[f"{prefix}DELETE"] = "on"
    data |= changes
    return data


def with_block(runbook: Runbook, target: str, **fields) -> list[dict]:
    blocks = [
        {"id": block.pk, "key": block.key, "title": block.title, "kind": block.kind, "config": block.config}
        for block in runbook.blocks.all()
    ]
    for block in blocks:
        if block["key"] == target:
            block.update(fields)
    return blocks


# Every registered admin --------------------------------------------------------------------------
