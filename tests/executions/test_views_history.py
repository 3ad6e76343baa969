"""Run history: overall and per runbook, filtered by status, runbook, person and dates, paginated, fixed queries."""

import datetime

import pytest
from django.utils import timezone

from apps.executions.models import Execution, ExecutionStatus
from apps.runbooks.versions import runbook_latest_version
from tests.support.executions import command


@pytest.fixture
def runbooks(cast, make_runbook):
    return (
        make_runbook(cast.owner, [command("a", "true")], title="Alpha runbook"),
        make_runbook(cast.owner, [command("b", "true")], title="Beta runbook"),
    )


def make_executions(runbooks, users, count: int) -> None:
    """`count` executions spread over runbooks, people, statuses and days, in one bulk insert."""
    statuses = [ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.RUNNING]
    versions = {runbook.pk: runbook_latest_version(runbook) for runbook in runbooks}
    rows = [
        Execution(
            runbook=runbooks[index % 2],
            version=versions[runbooks[index % 2].pk],
            snapshot={"blocks": []},
            status=statuses[index % 3],
            triggered_by=users[index % len(users)],
        )
        for index in range(count)
    ]
    Execution.objects.bulk_create(rows)
    # created_at is auto_now_add; spread the runs over days so the date filters have work to do.
    base = timezone.make_aware(datetime.datetime(2026, 3, 1, 12, 0))
    for index, execution in enumerate(Execution.objects.order_by("pk")):
        Execution.objects.filter(pk=execution.pk).update(created_at=base + datetime.timedelta(days=index % 10))


# Session, user, count, page, filter choices; filtered by runbook and person add the person, the
# runbook with its permission checks and tabs. The same whatever the number of runs (a query per row
# would be 25 more).
QUERY_BUDGET = 5
FILTERED_QUERY_BUDGET = 11


def rows_in(html: str) -> int:
    return html.count('id="execution-row-')


def test_history_lists_visible_runs_newest_first(cast, client_for, runbooks):
    make_executions(runbooks, [cast.runner, cast.editor], 6)
    html = client_for(cast.viewer).get("/executions/").content.decode()
    assert rows_in(html) == 6
    assert "Alpha runbook" in html and "Beta runbook" in html and "v1" in html


def test_outsiders_see_no_runs_of_runbooks_they_cannot_see(cast, client_for, runbooks):
    make_executions(runbooks, [cast.runner], 4)
    html = client_for(cast.outsider).get("/executions/").content.decode()
    assert rows_in(html) == 0
    assert "No runs yet" in html


def test_it_filters_by_status(cast, client_for, runbooks):
    make_executions(runbooks, [cast.runner], 9)
    html = client_for(cast.viewer).get("/executions/?status=failed").content.decode()
    assert rows_in(html) == 3
    assert "status-succeeded" not in html


def test_it_filters_by_runbook_and_shows_the_runbook_tabs(cast, client_for, runbooks):
    make_executions(runbooks, [cast.runner], 8)
    html = client_for(cast.viewer).get(f"/executions/?runbook={runbooks[1].pk}").content.decode()
    assert rows_in(html) == 4
    assert "Alpha runbook</td>" not in html
    assert 'aria-current="page">Runs</a>' in html, "the runbook's Runs tab"


def test_it_filters_by_person(cast, client_for, runbooks):
    make_executions(runbooks, [cast.runner, cast.editor], 10)
    html = client_for(cast.viewer).get("/executions/?person=editor").content.decode()
    assert rows_in(html) == 5
    unknown = client_for(cast.viewer).get("/executions/?person=nobody").content.decode()
    assert rows_in(unknown) == 0 and "No user is named “nobody”" in unknown


def test_it_filters_by_date_range_inclusive(cast, client_for, runbooks):
    make_executions(runbooks, [cast.runner], 20)
    html = client_for(cast.viewer).get("/executions/?since=2026-03-02&until=2026-03-03").content.decode()
    assert rows_in(html) == 4


def test_bad_filters_are_reported_not_guessed(cast, client_for, runbooks):
    make_executions(runbooks, [cast.runner], 3)
    html = client_for(cast.viewer).get("/executions/?since=yesterday&status=exploded").content.decode()
    assert rows_in(html) == 0
    assert "Enter a valid date." in html and "Select a valid choice." in html
    reversed_range = client_for(cast.viewer).get("/executions/?since=2026-03-05&until=2026-03-01").content.decode()
    assert "Pick a date on or after the start date." in reversed_range


def test_an_empty_filter_result_says_so(cast, client_for, runbooks):
    make_executions(runbooks, [cast.runner], 3)
    html = client_for(cast.viewer).get("/executions/?status=cancelled").content.decode()
    assert "No runs match these filters." in html


def test_live_filtering_answers_only_the_results(cast, client_for, runbooks):
    make_executions(runbooks, [cast.runner], 3)
    answer = client_for(cast.viewer).get(
        "/executions/?status=failed", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="execution-results"
    )
    html = answer.content.decode()
    assert html.startswith('<div id="execution-results">') and rows_in(html) == 1


def test_300_runs_paginate_in_a_fixed_number_of_queries(cast, client_for, runbooks, django_assert_max_num_queries):
    make_executions(runbooks, [cast.runner, cast.editor, cast.owner], 300)
    client = client_for(cast.viewer)
    client.get("/executions/")  # warm the session and content types
    with django_assert_max_num_queries(QUERY_BUDGET):
        first = client.get("/executions/").content.decode()
    with django_assert_max_num_queries(FILTERED_QUERY_BUDGET):
        filtered = client.get(f"/executions/?page=2&runbook={runbooks[0].pk}&person=runner").content.decode()
    assert rows_in(first) == 25 and "Page 1 of 12" in first and "300 runs" in first
    assert 'rel="next"' in first
    # Alpha holds the even-numbered runs; the runner started every third: 50 runs, two pages.
    assert rows_in(filtered) == 25 and "Page 2 of 2" in filtered
    assert "person=runner" in filtered.split('rel="prev"')[0].rsplit("href=", 1)[1]
