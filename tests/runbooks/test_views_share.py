from django.urls import reverse

from apps.runbooks.selectors import runbook_access_entries, runbook_role_of

HTMX = {"HTTP_HX_REQUEST": "true"}


def _grants(runbook) -> dict:
    return {entry["principal"]: entry["role"] for entry in runbook_access_entries(runbook)}


def test_owners_see_every_grant_with_a_role_select(cast, client_for):
    page = client_for(cast.owner).get(reverse("runbooks:share", args=[cast.runbook.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    for principal in ("user:owner", "user:editor", "user:runner", "user:viewer"):
        assert f'name="principal" value="{principal}"' in text
    assert '<datalist id="principal-users">' in text and '<option value="outsider">' in text
    assert '<datalist id="principal-groups">' in text and '<option value="sre">' in text


def test_it_grants_a_role_to_a_user_and_to_a_group(cast, client_for):
    client = client_for(cast.owner)
    url = reverse("runbooks:share_grant", args=[cast.runbook.pk])
    answer = client.post(url, {"principal_kind": "user", "name": "outsider", "role": "runner"}, **HTMX)
    assert answer.status_code == 200
    assert answer.content.decode().lstrip().startswith('<div id="access">')
    assert runbook_role_of(cast.outsider, cast.runbook) == "runner"
    client.post(url, {"principal_kind": "group", "name": "sre", "role": "editor"})
    assert _grants(cast.runbook)["group:sre"] == "editor"


def test_granting_to_an_unknown_user_is_an_error_in_place(cast, client_for):
    before = _grants(cast.runbook)
    answer = client_for(cast.owner).post(
        reverse("runbooks:share_grant", args=[cast.runbook.pk]),
        {"principal_kind": "user", "name": "nobody", "role": "viewer"},
        **HTMX,
    )
    assert answer.status_code == 400
    assert "There is no user named “nobody”." in answer.content.decode()
    assert 'value="nobody"' in answer.content.decode()
    assert _grants(cast.runbook) == before


def test_an_unknown_role_or_kind_is_refused(cast, client_for):
    before = _grants(cast.runbook)
    url = reverse("runbooks:share_grant", args=[cast.runbook.pk])
    assert (
        client_for(cast.owner).post(url, {"principal_kind": "user", "name": "outsider", "role": "god"}).status_code
        == 400
    )
    assert (
        client_for(cast.owner).post(url, {"principal_kind": "robot", "name": "x", "role": "viewer"}).status_code == 400
    )
    assert _grants(cast.runbook) == before


def test_changing_a_role_from_the_row(cast, client_for):
    answer = client_for(cast.owner).post(
        reverse("runbooks:share_change", args=[cast.runbook.pk]), {"principal": "user:viewer", "role": "editor"}, **HTMX
    )
    assert answer.status_code == 200
    assert runbook_role_of(cast.viewer, cast.runbook) == "editor"


def test_revoking_a_grant(cast, client_for):
    answer = client_for(cast.owner).post(
        reverse("runbooks:share_change", args=[cast.runbook.pk]), {"principal": "user:runner", "role": ""}
    )
    assert answer.status_code == 302
    assert runbook_role_of(cast.runner, cast.runbook) is None
    assert "user:runner" not in _grants(cast.runbook)


def test_the_last_owner_cannot_be_removed(cast, client_for):
    before = _grants(cast.runbook)
    url = reverse("runbooks:share_change", args=[cast.runbook.pk])
    for role in ("", "editor"):
        answer = client_for(cast.owner).post(url, {"principal": "user:owner", "role": role}, **HTMX)
        assert answer.status_code == 400
        assert "A runbook must keep at least one owner." in answer.content.decode()
    assert _grants(cast.runbook) == before


def test_only_owners_may_share(cast, client_for):
    before = _grants(cast.runbook)
    for name in ("share", "share_grant", "share_change"):
        url = reverse(f"runbooks:{name}", args=[cast.runbook.pk])
        data = {"principal_kind": "user", "name": "editor", "role": "owner", "principal": "user:editor"}
        assert client_for(cast.editor).post(url, data).status_code in (403, 405)
        assert client_for(cast.outsider).post(url, data).status_code in (404, 405)
    assert client_for(cast.editor).get(reverse("runbooks:share", args=[cast.runbook.pk])).status_code == 403
    assert client_for(cast.outsider).get(reverse("runbooks:share", args=[cast.runbook.pk])).status_code == 404
    assert _grants(cast.runbook) == before
