"""Execution reads through the runbook role: who sees what, and in how many queries."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.executions.selectors import execution_for_user, execution_steps, executions_visible_to
from apps.executions.services.start import execution_start
from apps.runbooks.roles import EDIT, RUN
from apps.runbooks.services.runbooks import runbook_archive
from tests.support.executions import command


@pytest.fixture
def execution(cast, make_runbook):
    runbook = make_runbook(cast.owner, [command("one", "true"), command("two", "true")])
    return execution_start(runbook=runbook, user=cast.runner)


@pytest.mark.parametrize("role", ["owner", "editor", "runner", "viewer", "admin"])
def test_viewers_and_up_see_an_execution(cast, execution, role):
    assert execution_for_user(getattr(cast, role), execution.pk) == execution


@pytest.mark.parametrize("role", ["outsider", "staff"])
def test_outsiders_get_404(cast, execution, role):
    with pytest.raises(Http404):
        execution_for_user(getattr(cast, role), execution.pk)


def test_a_role_too_weak_gets_403(cast, execution):
    with pytest.raises(PermissionDenied):
        execution_for_user(cast.viewer, execution.pk, RUN)
    with pytest.raises(PermissionDenied):
        execution_for_user(cast.runner, execution.pk, EDIT)


@pytest.mark.parametrize("pk", [999999, "abc", None])
def test_a_missing_or_odd_pk_is_404(cast, pk):
    with pytest.raises(Http404):
        execution_for_user(cast.owner, pk)


def test_anonymous_users_see_nothing(execution):
    with pytest.raises(Http404):
        execution_for_user(AnonymousUser(), execution.pk)
    assert not executions_visible_to(AnonymousUser()).exists()


def test_archived_runbooks_keep_their_executions_visible(cast, execution):
    runbook_archive(runbook=execution.runbook, user=cast.owner)
    assert execution_for_user(cast.viewer, execution.pk) == execution
    assert list(executions_visible_to(cast.viewer)) == [execution]


def test_the_list_filters(cast, execution, make_runbook):
    other = execution_start(runbook=make_runbook(cast.owner, [command("x", "true")], title="B"), user=cast.owner)
    assert list(executions_visible_to(cast.owner)) == [other, execution]
    assert list(executions_visible_to(cast.owner, runbook=execution.runbook)) == [execution]
    assert list(executions_visible_to(cast.owner, triggered_by=cast.owner)) == [other]
    assert list(executions_visible_to(cast.owner, status="succeeded")) == []
    assert list(executions_visible_to(cast.owner, since=other.created_at)) == [other]
    assert list(executions_visible_to(cast.owner, until=other.created_at)) == [execution]
    assert list(executions_visible_to(cast.outsider)) == []


def test_the_list_is_one_query_whatever_its_length(cast, execution, django_assert_num_queries):
    for _ in range(4):
        execution_start(runbook=execution.runbook, user=cast.runner)
    # Process-wide caches (content types) are filled once, as in a running server; another test may have cleared them.
    list(executions_visible_to(cast.viewer))
    with django_assert_num_queries(1):
        rows = list(executions_visible_to(cast.viewer))
        names = [(row.runbook.title, row.triggered_by.username, row.version.number) for row in rows]
    assert len(names) == 5


def test_steps_come_in_position_order(execution):
    assert [step.block_key for step in execution_steps(execution)] == ["one", "two"]
