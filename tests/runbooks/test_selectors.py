import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.runbooks.roles import EDIT, RUN, SHARE, VIEW
from apps.runbooks.selectors import runbook_for_user, runbooks_visible_to
from apps.runbooks.services.runbooks import runbook_archive

EXPECTED = {
    # role: (view, run, edit, share)
    "owner": (True, True, True, True),
    "editor": (True, True, True, False),
    "runner": (True, True, False, False),
    "viewer": (True, False, False, False),
    "admin": (True, True, True, True),
}


@pytest.mark.parametrize("name", [*EXPECTED, "outsider", "staff"])
def test_runbook_for_user_gives_404_to_outsiders_and_403_to_weak_roles(cast, name):
    user = getattr(cast, name)
    for perm, allowed in zip((VIEW, RUN, EDIT, SHARE), EXPECTED.get(name, (False,) * 4), strict=True):
        if allowed:
            assert runbook_for_user(user, cast.runbook.pk, perm) == cast.runbook
        elif name in ("outsider", "staff"):
            with pytest.raises(Http404):
                runbook_for_user(user, cast.runbook.pk, perm)
        else:
            with pytest.raises(PermissionDenied):
                runbook_for_user(user, cast.runbook.pk, perm)


@pytest.mark.parametrize("pk", [999999, "abc", None])
def test_unknown_ids_are_404(cast, pk):
    with pytest.raises(Http404):
        runbook_for_user(cast.owner, pk)


def test_archived_runbooks_are_404_and_not_listed(cast):
    runbook_archive(runbook=cast.runbook, user=cast.owner)
    with pytest.raises(Http404):
        runbook_for_user(cast.owner, cast.runbook.pk)
    assert list(runbooks_visible_to(cast.owner)) == []


def test_lists_show_only_what_the_user_may_see(cast):
    assert list(runbooks_visible_to(cast.viewer)) == [cast.runbook]
    assert list(runbooks_visible_to(cast.outsider)) == []
    assert list(runbooks_visible_to(cast.admin)) == [cast.runbook]


def test_search_covers_title_description_and_tags(cast):
    assert list(runbooks_visible_to(cast.viewer, q="payments restart")) == []  # a phrase, not a bag of words
    assert list(runbooks_visible_to(cast.viewer, q="payments")) == [cast.runbook]
    assert list(runbooks_visible_to(cast.viewer, q="latency")) == [cast.runbook]
    assert list(runbooks_visible_to(cast.viewer, tag="API")) == [cast.runbook]
    assert list(runbooks_visible_to(cast.viewer, tag="db")) == []
