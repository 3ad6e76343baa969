import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.runbooks.models import Runbook, RunbookUserObjectPermission
from apps.runbooks.services.runbooks import runbook_create

LIST = reverse("runbooks:list")


def test_it_lists_only_runbooks_the_user_may_see(cast, client_for):
    runbook_create(user=cast.outsider, title="Outsider's secret plan")
    page = client_for(cast.viewer).get(LIST)
    assert page.status_code == 200
    assert b"Restart the payments API" in page.content
    assert b"secret plan" not in page.content


def test_it_searches_title_description_and_tags(cast, client_for):
    runbook_create(user=cast.owner, title="Rotate TLS certificates", description="Before **expiry**", tags=["tls"])
    client = client_for(cast.owner)
    assert b"Rotate TLS" in client.get(LIST, {"q": "rotate"}).content
    assert b"Restart the payments" not in client.get(LIST, {"q": "rotate"}).content
    assert b"Rotate TLS" in client.get(LIST, {"q": "expiry"}).content
    by_tag_word = client.get(LIST, {"q": "payments"}).content
    assert b"Restart the payments" in by_tag_word and b"Rotate TLS" not in by_tag_word


def test_live_search_answers_only_the_results_partial(cast, client_for):
    page = client_for(cast.owner).get(LIST, {"q": "restart"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    assert page.status_code == 200
    assert page.content.lstrip().startswith(b'<div id="results"')
    assert b"<html" not in page.content


def test_it_filters_by_a_clicked_tag(cast, client_for):
    runbook_create(user=cast.owner, title="Rotate TLS certificates", tags=["tls"])
    page = client_for(cast.owner).get(LIST, {"tag": "tls"})
    assert b"Rotate TLS" in page.content
    assert b"Restart the payments" not in page.content
    assert b"?tag=payments" in client_for(cast.owner).get(LIST).content


def test_it_tells_an_empty_search_from_an_empty_catalogue(cast, client_for):
    nothing = client_for(cast.owner).get(LIST, {"q": "zebra"})
    assert "Nothing matches ‘zebra’".encode() in nothing.content
    fresh = client_for(cast.outsider).get(LIST)
    assert "No runbooks yet — create your first".encode() in fresh.content
    assert reverse("runbooks:create").encode() in fresh.content


def test_it_escapes_the_search_text(cast, client_for):
    page = client_for(cast.owner).get(LIST, {"q": "<script>alert(1)</script>"})
    assert b"<script>alert(1)</script>" not in page.content
    assert b"&lt;script&gt;" in page.content


def test_it_paginates_and_keeps_the_search(cast, client_for, settings):
    settings.RUNBOOKS_PAGE_SIZE = 2
    for number in range(4):
        runbook_create(user=cast.owner, title=f"Drill {number}")
    client = client_for(cast.owner)
    first = client.get(LIST, {"q": "drill"})
    assert b"Page 1 of 2" in first.content
    assert b"q=drill&amp;page=2" in first.content
    second = client.get(LIST, {"q": "drill", "page": 2})
    assert b"Page 2 of 2" in second.content
    assert b"Drill 0" in second.content and b"Drill 3" not in second.content
    # A page number past the end shows the last page rather than an error.
    assert b"Page 2 of 2" in client.get(LIST, {"q": "drill", "page": 99}).content


@pytest.fixture
def many_runbooks(cast):
    """5,000 runbooks, 2,500 of them visible to the viewer (rows made in bulk: speed, not realism)."""
    runbooks = Runbook.objects.bulk_create(
        Runbook(title=f"Bulk runbook {number}", owner=cast.outsider) for number in range(5000)
    )
    view = Permission.objects.get(codename="view_runbook", content_type__app_label="runbooks")
    RunbookUserObjectPermission.objects.bulk_create(
        RunbookUserObjectPermission(user=cast.viewer, permission=view, content_object=runbook)
        for runbook in runbooks[::2]
    )
    return runbooks


def test_the_list_runs_a_fixed_number_of_queries(many_runbooks, cast, client_for, django_assert_max_num_queries):
    client = client_for(cast.viewer)
    with django_assert_max_num_queries(15):
        first = client.get(LIST)
    assert b"2,501 runbooks" in first.content or b"2501 runbooks" in first.content
    with django_assert_max_num_queries(15):
        fiftieth = client.get(LIST, {"page": 50})
    assert b"Page 50 of" in fiftieth.content
    assert fiftieth.content.count(b'<tr id="runbook-') == 25


def test_anonymous_visitors_are_sent_to_sign_in(client):
    page = client.get(LIST)
    assert page.status_code == 302
    assert reverse("accounts:login") in page["Location"]


def test_descriptions_in_the_list_read_as_plain_text(cast, client_for):
    page = client_for(cast.viewer).get("/runbooks/").content.decode()
    assert "When p95 latency alarms fire." in page
    assert "**p95" not in page
