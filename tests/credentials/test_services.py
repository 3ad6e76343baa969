"""Credential services: rules, bad input, roles, audit, history."""

import pytest
from django.db import connection

from apps.audit.models import AuditEvent
from apps.core.errors import InvalidInput
from apps.credentials.models import Credential
from apps.credentials.selectors import credential_access_entries
from apps.credentials.services import (
    CredentialInUse,
    credential_create,
    credential_delete,
    credential_grant,
    credential_set_access,
    credential_update,
    credential_use,
    credentials_check_attachable,
)
from apps.runbooks.services.runbooks import runbook_create
from tests.credentials.conftest import SECRET


def errors_of(raised) -> dict:
    return raised.value.errors


def test_the_creator_is_owner(credential, cast):
    assert credential_access_entries(credential) == [{"principal": "user:owner", "role": "owner"}]
    for perm in ("use_credential", "change_credential", "share_credential", "delete_credential"):
        assert cast.owner.has_perm(f"credentials.{perm}", credential)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "A secret is required."),
        (None, "A secret is required."),
        ("short", "at least 8 are needed, because a shorter one cannot be masked safely"),
        ("1234567", "The secret is 7 characters"),
        (12345678, "The secret must be text."),
        ("two\nlines-token", "may not contain line breaks"),
    ],
)
def test_it_refuses_a_bad_secret_and_saves_nothing(cast, secret, message):
    with pytest.raises(InvalidInput) as raised:
        credential_create(user=cast.owner, name="bad-one", kind="token", secret=secret)
    assert message in errors_of(raised)["secret"][0]
    assert not Credential.objects.exists()


def test_a_multi_line_generic_secret_is_fine(cast):
    credential = credential_create(user=cast.owner, name="ssh-key", kind="secret", secret="-----BEGIN\nabc\n-----END")
    assert Credential.objects.get(pk=credential.pk).secret == "-----BEGIN\nabc\n-----END"


def test_it_refuses_a_duplicate_name_ignoring_case(credential, cast):
    with pytest.raises(InvalidInput) as raised:
        credential_create(user=cast.editor, name="Payments-API", kind="token", secret="another-secret-1")
    assert errors_of(raised)["name"] == ["A credential named “Payments-API” already exists (names ignore case)."]
    assert Credential.objects.count() == 1


@pytest.mark.parametrize("kind", ["password", "", None, "TOKEN"])
def test_it_refuses_an_unknown_kind(cast, kind):
    with pytest.raises(InvalidInput) as raised:
        credential_create(user=cast.owner, name="x-cred", kind=kind, secret="long-enough-secret")
    assert "token, basic, header, secret" in errors_of(raised)["kind"][0]
    assert not Credential.objects.exists()


@pytest.mark.parametrize("name", ["", "../etc/passwd", "has space", "-leading", "x" * 101])
def test_it_refuses_a_bad_name(cast, name):
    with pytest.raises(InvalidInput) as raised:
        credential_create(user=cast.owner, name=name, kind="token", secret="long-enough-secret")
    assert errors_of(raised)["name"]


def test_basic_needs_a_username_and_header_needs_a_header_name(cast):
    with pytest.raises(InvalidInput) as raised:
        credential_create(user=cast.owner, name="b", kind="basic", secret="long-enough-secret")
    assert errors_of(raised) == {"username": ["Basic auth needs a username."]}
    with pytest.raises(InvalidInput) as raised:
        credential_create(user=cast.owner, name="h", kind="header", secret="long-enough-secret", header_name="X Bad")
    assert "not a valid header name" in errors_of(raised)["header_name"][0]


def test_an_error_message_never_contains_the_secret(cast):
    with pytest.raises(InvalidInput) as raised:
        credential_create(user=cast.owner, name="bad name", kind="nope", secret="visible-secret-value")
    assert "visible-secret-value" not in str(raised.value.errors)


def test_update_keeps_the_secret_when_it_is_empty(credential, cast):
    credential_update(credential=credential, user=cast.owner, description="new words", secret="")
    loaded = Credential.objects.get(pk=credential.pk)
    assert loaded.secret == SECRET
    assert loaded.description == "new words"
    assert loaded.secret_changed_at == credential.secret_changed_at


def test_update_replaces_the_secret(credential, cast):
    credential_update(credential=credential, user=cast.owner, secret="a-brand-new-secret")
    loaded = Credential.objects.get(pk=credential.pk)
    assert loaded.secret == "a-brand-new-secret"
    assert loaded.secret_changed_at > credential.secret_changed_at
    event = AuditEvent.objects.filter(action="credential.change").get()
    assert event.detail == {"name": "payments-api", "fields": [], "secret_changed": True}


def test_update_refuses_a_short_new_secret_and_keeps_everything(credential, cast):
    with pytest.raises(InvalidInput) as raised:
        credential_update(credential=credential, user=cast.owner, description="changed", secret="short")
    assert "at least 8" in errors_of(raised)["secret"][0]
    loaded = Credential.objects.get(pk=credential.pk)
    assert (loaded.description, loaded.secret) == ("CI token", SECRET)


def test_audit_events_never_hold_the_secret(credential, cast):
    credential = credential_update(
        credential=credential, user=cast.owner, name="payments-api-2", secret="second-secret-value"
    )
    credential_grant(credential=credential, actor=cast.owner, principal=cast.runner, role="user")
    credential_use(credential=credential, actor=cast.runner, execution_id=42, block_key="restart")
    actions = list(AuditEvent.objects.filter(object_type="credential").order_by("seq").values_list("action", flat=True))
    assert actions == ["credential.create", "credential.change", "credential.share", "credential.use"]
    use = AuditEvent.objects.get(action="credential.use")
    assert use.detail == {"name": "payments-api-2", "execution": 42, "block": "restart"}
    assert Credential.objects.get(pk=credential.pk).last_used_at is not None
    dumped = str(list(AuditEvent.objects.values()))
    assert SECRET not in dumped and "second-secret-value" not in dumped and "gAAAAA" not in dumped


def test_delete_is_refused_while_blocks_use_it_and_counts_the_runbooks(credential, cast):
    runbook_create(
        user=cast.owner,
        title="Rotate certificates",
        blocks=[
            {"key": "call", "kind": "api_call", "config": {"url": "https://example.com", "credential": credential.pk}}
        ],
    )
    runbook_create(
        user=cast.owner,
        title="Flush caches",
        blocks=[{"key": "run", "kind": "command", "config": {"script": "true", "credentials": [credential.pk]}}],
    )
    with pytest.raises(CredentialInUse) as raised:
        credential_delete(credential=credential, user=cast.owner)
    assert [runbook.title for runbook in raised.value.runbooks] == ["Flush caches", "Rotate certificates"]
    # Counted, not named: whoever deletes may not see every one of them.
    assert "is used by the blocks of 2 runbooks" in str(raised.value)
    assert "Flush caches" not in str(raised.value)
    assert Credential.objects.filter(pk=credential.pk).exists()


def test_delete_removes_it_when_unused(credential, cast):
    credential_delete(credential=credential, user=cast.owner)
    assert not Credential.objects.exists()
    assert AuditEvent.objects.filter(action="credential.delete", object_id=str(credential.pk)).exists()


def test_set_access_replaces_grants_and_keeps_an_owner(credential, cast):
    entries = credential_set_access(
        credential=credential,
        actor=cast.owner,
        entries=[{"principal": "user:owner", "role": "owner"}, {"principal": "group:sre", "role": "user"}],
    )
    assert entries == [{"principal": "group:sre", "role": "user"}, {"principal": "user:owner", "role": "owner"}]
    with pytest.raises(InvalidInput) as raised:
        credential_set_access(
            credential=credential, actor=cast.owner, entries=[{"principal": "group:sre", "role": "user"}]
        )
    assert raised.value.errors == {"non_field_errors": ["A credential must keep at least one owner."]}
    with pytest.raises(InvalidInput) as raised:
        credential_set_access(
            credential=credential, actor=cast.owner, entries=[{"principal": "user:nobody", "role": "viewer"}]
        )
    assert raised.value.errors["entries"][0]["principal"] == ["There is no user named “nobody”."]
    assert "Unknown role “viewer”" in raised.value.errors["entries"][0]["role"][0]
    assert credential_access_entries(credential) == entries


def test_the_last_owner_cannot_be_revoked(credential, cast):
    with pytest.raises(InvalidInput):
        credential_grant(credential=credential, actor=cast.owner, principal=cast.owner, role=None)
    assert cast.owner.has_perm("credentials.share_credential", credential)


def test_group_members_get_the_group_role(credential, cast):
    cast.viewer.groups.add(cast.team)
    credential_grant(credential=credential, actor=cast.owner, principal=cast.team, role="user")
    credentials_check_attachable(user=cast.viewer, credential_ids=[credential.pk])


def test_check_attachable_refuses_missing_and_unshared_ids_alike(credential, cast):
    with pytest.raises(InvalidInput) as raised:
        credentials_check_attachable(user=cast.editor, credential_ids=[credential.pk, 999999])
    assert raised.value.errors == {
        "credentials": [
            f"You cannot attach credential #{credential.pk}: it does not exist or you do not have the user role on it.",
            "You cannot attach credential #999999: it does not exist or you do not have the user role on it.",
        ]
    }
    credentials_check_attachable(user=cast.owner, credential_ids=[credential.pk])
    credentials_check_attachable(user=cast.admin, credential_ids=[credential.pk])


def test_history_table_holds_no_plaintext_and_no_ciphertext(credential, cast):
    credential_update(credential=credential, user=cast.owner, secret="rotated-by-hand-1", description="v2")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM credentials_historicalcredential")
        rows = cursor.fetchall()
    assert len(rows) == 2
    flat = [str(value) for row in rows for value in row]
    assert not any(SECRET in value or "rotated-by-hand-1" in value or "gAAAAA" in value for value in flat)
