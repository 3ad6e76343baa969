import re
from types import SimpleNamespace

import pytest

from apps.audit.models import AuditEvent
from apps.credentials.services import credential_create, credential_grant
from apps.environments.models import ExecutionEnvironment
from apps.runbooks.models import Block, Runbook, RunbookVersion

UUID_LINE = re.compile(r"^  id: [0-9a-f-]{36}$", re.MULTILINE)


def without_uuid(text: str) -> str:
    return UUID_LINE.sub("  id: <uuid>", text, count=1)


@pytest.fixture
def world(cast):
    """The cast plus two credentials editor may use (owner owns them) and one nobody but owner may,
    and two environments."""
    prod = credential_create(user=cast.owner, name="prod-api", kind="token", secret="prod-secret-value-1")
    ops = credential_create(user=cast.owner, name="ops-token", kind="token", secret="ops-secret-value-2")
    private = credential_create(user=cast.owner, name="owner-only", kind="token", secret="owner-secret-value-3")
    for credential in (prod, ops):
        credential_grant(credential=credential, actor=cast.owner, principal=cast.editor, role="user")
    default = ExecutionEnvironment.objects.create(name="default", image="runbooks-test-busybox:latest")
    gpu = ExecutionEnvironment.objects.create(name="gpu", image="runbooks-test-busybox:latest")
    return SimpleNamespace(cast=cast, prod=prod, ops=ops, private=private, default=default, gpu=gpu)


def counts() -> dict:
    """What a refused import must leave as it was."""
    return {
        "runbooks": Runbook.objects.count(),
        "blocks": Block.objects.count(),
        "versions": RunbookVersion.objects.count(),
        "audit": AuditEvent.objects.count(),
        "history": Runbook.history.count() + Block.history.count(),
        "revisions": sorted(Runbook.objects.values_list("pk", "revision")),
    }
