"""Issue 12.1 and 12.7: a credential's owner sees every runbook using it and can revoke one's use;
from then on every version's step that needs it fails before anything runs. "Used by" names only
runbooks the viewer may see."""

import pytest

from apps.audit.models import AuditEvent
from apps.credentials.services import credential_create, credential_grant
from apps.executions.models import Execution
from apps.runbooks.services.runbooks import runbook_create, runbook_update
from apps.runbooks.versions import runbook_publish
from tests.support.executions import output_of, run_now

SECRET = "tok-revoked-secret-4242"


@pytest.fixture
def tok(cast):
    return credential_create(user=cast.owner, name="tok", kind="token", secret=SECRET)


@pytest.fixture
def published(cast, make_runbook, tok):
    """v1 uses tok after a harmless first step; v2 (latest) no longer carries it."""
    runbook = make_runbook(
        cast.owner,
        [
            {"key": "first", "kind": "command", "config": {"script": "echo first ran"}},
            {
                "key": "use",
                "kind": "command",
                "config": {"script": "wc -c < $RB_SECRET_TOK_FILE", "credentials": [tok.pk]},
            },
        ],
        title="Uses tok",
    )
    return runbook


def test_revoking_fails_every_version_that_needs_it_before_anything_runs(cast, api_for, published, tok, docker_engine):
    owner = api_for(cast.owner)
    assert owner.delete(f"/api/v1/credentials/{tok.pk}/usage/{published.pk}/").status_code == 204
    assert AuditEvent.objects.filter(action="credential.revoke_use", object_id=str(tok.pk)).exists()

    answer = api_for(cast.runner).post(f"/api/v1/runbooks/{published.pk}/executions/", {}, format="json")
    assert answer.status_code == 202
    execution = run_now(Execution.objects.get(pk=answer.json()["id"]))
    assert execution.status == "failed"
    steps = {step.block_key: step for step in execution.steps.all()}
    assert steps["first"].status == "skipped" and output_of(steps["first"]) == ""
    assert steps["use"].status == "failed"
    assert steps["use"].error == "Credential “tok” is no longer granted to this runbook."
    assert not steps["use"].container_id
    assert AuditEvent.objects.filter(action="credential.use_refused", object_id=str(tok.pk)).exists()
    assert not AuditEvent.objects.filter(action="credential.use", object_id=str(tok.pk)).exists()


def test_an_old_version_stays_revoked_after_the_owner_removed_the_credential(
    cast, api_for, published, tok, docker_engine
):
    published.refresh_from_db()
    runbook_update(
        runbook=published, user=cast.owner, revision=published.revision,
        blocks=[{"key": "first", "kind": "command", "config": {"script": "echo first ran"}}],
    )  # fmt: skip
    runbook_publish(runbook=published, user=cast.owner, message="no more tok")
    usage = api_for(cast.owner).get(f"/api/v1/credentials/{tok.pk}/usage/").json()
    assert [entry["id"] for entry in usage["runbooks"]] == [published.pk]  # v1 still carries it
    assert api_for(cast.owner).delete(f"/api/v1/credentials/{tok.pk}/usage/{published.pk}/").status_code == 204
    answer = api_for(cast.editor).post(f"/api/v1/runbooks/{published.pk}/executions/", {"version": 1}, format="json")
    execution = run_now(Execution.objects.get(pk=answer.json()["id"]))
    assert execution.status == "failed"
    assert execution.steps.get(block_key="use").error.endswith("is no longer granted to this runbook.")


def test_restoring_lets_it_run_again(cast, api_for, published, tok, docker_engine):
    owner = api_for(cast.owner)
    owner.delete(f"/api/v1/credentials/{tok.pk}/usage/{published.pk}/")
    assert owner.put(f"/api/v1/credentials/{tok.pk}/usage/{published.pk}/").status_code == 204
    answer = api_for(cast.runner).post(f"/api/v1/runbooks/{published.pk}/executions/", {}, format="json")
    execution = run_now(Execution.objects.get(pk=answer.json()["id"]))
    assert execution.status == "succeeded"
    assert output_of(execution.steps.get(block_key="use")).strip() == str(len(SECRET))


def test_only_an_owner_of_the_credential_may_revoke(cast, api_for, published, tok):
    credential_grant(credential=tok, actor=cast.owner, principal=cast.editor, role="user")
    assert api_for(cast.editor).delete(f"/api/v1/credentials/{tok.pk}/usage/{published.pk}/").status_code == 403
    assert api_for(cast.runner).delete(f"/api/v1/credentials/{tok.pk}/usage/{published.pk}/").status_code == 404
    # A runbook that does not use the credential is not found, whatever its id.
    assert api_for(cast.owner).delete(f"/api/v1/credentials/{tok.pk}/usage/{cast.runbook.pk}/").status_code == 404


def test_used_by_names_only_runbooks_the_viewer_may_see(cast, api_for, client_for, published, tok, django_user_model):
    stranger = django_user_model.objects.create_user("stranger", password="x")
    credential_grant(credential=tok, actor=cast.owner, principal=stranger, role="user")
    hidden = runbook_create(
        user=cast.owner,
        title="Private payroll runbook",
        blocks=[{"key": "pay", "kind": "command", "config": {"script": "true", "credentials": [tok.pk]}}],
    )
    # The stranger may use the credential but sees neither runbook.
    usage = api_for(stranger).get(f"/api/v1/credentials/{tok.pk}/usage/").json()
    assert usage == {"runbooks": [], "hidden_count": 2}
    page = client_for(stranger).get(f"/credentials/{tok.pk}/").content.decode()
    assert "Private payroll runbook" not in page and "Uses tok" not in page
    assert "2 runbooks you cannot view" in page

    # The owner sees both by title (and may revoke each).
    owner_usage = api_for(cast.owner).get(f"/api/v1/credentials/{tok.pk}/usage/").json()
    assert sorted(entry["title"] for entry in owner_usage["runbooks"]) == ["Private payroll runbook", "Uses tok"]
    assert owner_usage["hidden_count"] == 0

    # A credential owner who cannot view a runbook gets its id, never its title, and can revoke it.
    co_owner = django_user_model.objects.create_user("co-owner", password="x")
    credential_grant(credential=tok, actor=cast.owner, principal=co_owner, role="owner")
    co_usage = api_for(co_owner).get(f"/api/v1/credentials/{tok.pk}/usage/").json()
    assert co_usage["runbooks"] == []
    assert sorted(entry["id"] for entry in co_usage["hidden"]) == sorted([hidden.pk, published.pk])
    assert all(entry["title"] is None for entry in co_usage["hidden"])
    page = client_for(co_owner).get(f"/credentials/{tok.pk}/").content.decode()
    assert "Private payroll runbook" not in page
    assert f"/credentials/{tok.pk}/usage/{hidden.pk}/revoke/" in page


def test_the_revoke_page_confirms_before_revoking(cast, client_for, published, tok):
    client = client_for(cast.owner)
    confirm = client.get(f"/credentials/{tok.pk}/usage/{published.pk}/revoke/")
    assert confirm.status_code == 200 and "every version" in confirm.content.decode()
    assert not published.credential_revocations.exists()
    done = client.post(f"/credentials/{tok.pk}/usage/{published.pk}/revoke/")
    assert done.status_code == 302
    assert published.credential_revocations.filter(credential=tok).exists()
    page = client.get(f"/credentials/{tok.pk}/").content.decode()
    assert "revoked" in page and "Restore use" in page
