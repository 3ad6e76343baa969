"""GET/PUT /api/v1/runbooks/{id}/access/: owners see and replace who holds which role."""

import pytest

from apps.audit.models import AuditEvent
from apps.runbooks.selectors import runbook_access_entries, runbook_role_of


def url(cast) -> str:
    return f"/api/v1/runbooks/{cast.runbook.pk}/access/"


def test_an_owner_sees_every_grant(cast, api_for):
    response = api_for(cast.owner).get(url(cast))
    assert response.status_code == 200
    assert response.json() == [
        {"principal": "user:editor", "role": "editor"},
        {"principal": "user:owner", "role": "owner"},
        {"principal": "user:runner", "role": "runner"},
        {"principal": "user:viewer", "role": "viewer"},
    ]
    assert all(set(entry) == {"principal", "role"} for entry in response.json())


def test_put_replaces_every_grant(cast, api_for):
    entries = [
        {"principal": "user:owner", "role": "owner"},
        {"principal": "user:runner", "role": "editor"},
        {"principal": "group:sre", "role": "runner"},
    ]
    response = api_for(cast.owner).put(url(cast), entries, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == [
        {"principal": "group:sre", "role": "runner"},
        {"principal": "user:owner", "role": "owner"},
        {"principal": "user:runner", "role": "editor"},
    ]
    assert runbook_role_of(cast.runner, cast.runbook) == "editor"
    assert runbook_role_of(cast.editor, cast.runbook) is None
    assert runbook_role_of(cast.viewer, cast.runbook) is None


def test_someone_whose_role_was_removed_no_longer_sees_the_runbook(cast, api_for):
    viewer_api = api_for(cast.viewer)
    api_for(cast.owner).put(url(cast), [{"principal": "user:owner", "role": "owner"}], format="json")
    assert viewer_api.get(f"/api/v1/runbooks/{cast.runbook.pk}/").status_code == 404


def test_a_group_grant_gives_its_members_the_role(cast, api_for):
    cast.outsider.groups.add(cast.team)
    api_for(cast.owner).put(
        url(cast),
        [{"principal": "user:owner", "role": "owner"}, {"principal": "group:sre", "role": "viewer"}],
        format="json",
    )
    assert api_for(cast.outsider).get(f"/api/v1/runbooks/{cast.runbook.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("entries", "field"),
    [
        ([{"principal": "user:editor", "role": "owner"}, {"principal": "user:nobody", "role": "viewer"}], "entries"),
        ([{"principal": "user:owner", "role": "owner"}, {"principal": "editor", "role": "viewer"}], "entries"),
        ([{"principal": "user:owner", "role": "owner"}, {"principal": "user:editor", "role": "admin"}], "entries"),
        ([{"principal": "user:owner", "role": "owner"}, "user:editor"], "entries"),
        ([{"principal": "user:editor", "role": "editor"}], "non_field_errors"),
        ({"principal": "user:owner", "role": "owner"}, "non_field_errors"),
        ([], "non_field_errors"),
    ],
    ids=["unknown-user", "no-kind", "unknown-role", "not-an-object", "no-owner-left", "not-a-list", "empty"],
)
def test_put_refuses_bad_entries_and_changes_nothing(cast, api_for, entries, field):
    api = api_for(cast.owner)
    before = (runbook_access_entries(cast.runbook), AuditEvent.objects.count())
    response = api.put(url(cast), entries, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert (runbook_access_entries(cast.runbook), AuditEvent.objects.count()) == before


def test_an_unknown_principal_is_named_in_the_error(cast, api_for):
    response = api_for(cast.owner).put(
        url(cast),
        [{"principal": "user:owner", "role": "owner"}, {"principal": "user:nobody", "role": "viewer"}],
        format="json",
    )
    assert response.json()["entries"][1]["principal"] == ["There is no user named “nobody”."]


def test_an_editor_may_neither_see_nor_change_access(cast, api_for):
    api = api_for(cast.editor)
    before = runbook_access_entries(cast.runbook)
    assert api.get(url(cast)).status_code == 403
    assert api.put(url(cast), [{"principal": "user:editor", "role": "owner"}], format="json").status_code == 403
    assert runbook_access_entries(cast.runbook) == before
