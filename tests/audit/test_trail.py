"""Every action the issue lists lands on the trail with its actor and object."""

from apps.accounts.services import api_token_create, api_token_revoke
from apps.audit.models import AuditEvent
from apps.runbooks.models import Runbook
from apps.runbooks.services.access import runbook_grant
from apps.runbooks.services.runbooks import runbook_archive, runbook_update
from apps.runbooks.versions import runbook_publish, runbook_rollback


def test_runbook_token_and_role_actions_are_all_recorded(cast):
    runbook = cast.runbook
    runbook_publish(runbook=runbook, user=cast.editor, message="v1")
    runbook = Runbook.objects.get(pk=runbook.pk)
    runbook_update(runbook=runbook, user=cast.editor, revision=runbook.revision, title="New")
    runbook_publish(runbook=Runbook.objects.get(pk=runbook.pk), user=cast.editor, message="v2")
    runbook_rollback(runbook=runbook, user=cast.editor, number=1, message="undo")
    runbook_grant(runbook=runbook, actor=cast.owner, principal=cast.viewer, role=None)
    token, _ = api_token_create(user=cast.staff, name="ci")
    api_token_revoke(token=token, user=cast.staff)
    runbook_archive(runbook=runbook, user=cast.owner)

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "runbook.create", "runbook.edit", "runbook.publish", "runbook.rollback", "runbook.archive",
        "role.grant", "role.revoke", "token.create", "token.revoke",
    } <= actions  # fmt: skip
    rollback = AuditEvent.objects.get(action="runbook.rollback")
    assert (rollback.actor_name, rollback.object_type, rollback.object_id) == ("editor", "runbook", str(runbook.pk))
    assert rollback.detail == {"version": 3, "restored_from": 1, "message": "Rollback to v1: undo"}
