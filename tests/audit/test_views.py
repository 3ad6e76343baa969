"""The staff Audit page at /audit/ and its CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record


@pytest.fixture
def events(cast):
    audit_record(actor=cast.editor, action="runbook.publish", obj=cast.runbook, detail={"version": 1})
    audit_record(actor=cast.owner, action="runbook.archive", object_type="runbook", object_id=99, detail={})
    audit_record(actor="system", action="test.formula", object_type="thing", object_id="=HYPERLINK(1)", detail={})
    return cast


@pytest.mark.parametrize(("role", "expected"), [("staff", 200), ("admin", 200), ("owner", 403), ("viewer", 403)])
def test_only_staff_see_the_audit_page_and_export(cast, client_for, role, expected):
    client = client_for(getattr(cast, role))
    assert client.get(reverse("audit:list")).status_code == expected
    assert client.get(reverse("audit:export")).status_code == expected


def test_anonymous_visitors_are_redirected_to_sign_in(db, client):
    for name in ("audit:list", "audit:export"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def listed(response) -> str:
    """The events table only (the filter form's datalist names every action)."""
    return response.content.decode().split('<section id="events">')[1]


def test_filters_by_actor_action_object_and_date(events, client_for):
    client = client_for(events.staff)
    html = listed(client.get(reverse("audit:list"), {"actor": "editor", "action": "runbook.publish"}))
    assert "runbook.publish" in html and "runbook.archive" not in html
    html = listed(client.get(reverse("audit:list"), {"action": "runbook."}))
    assert "runbook.publish" in html and "runbook.archive" in html and "test.formula" not in html
    html = listed(client.get(reverse("audit:list"), {"object_type": "runbook", "object_id": "99"}))
    assert "runbook.archive" in html and "runbook.publish" not in html
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    html = listed(client.get(reverse("audit:list"), {"since": tomorrow}))
    assert "No events match" in html
    today = timezone.now().date().isoformat()
    html = listed(client.get(reverse("audit:list"), {"since": today, "until": today}))
    assert "runbook.publish" in html


def test_bad_filters_are_400_with_a_clear_message(events, client_for):
    client = client_for(events.staff)
    response = client.get(reverse("audit:list"), {"since": "yesterday"})
    assert response.status_code == 400
    assert "Enter a valid date" in response.content.decode()
    response = client.get(reverse("audit:list"), {"since": "2026-02-02", "until": "2026-01-01"})
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    assert client.get(reverse("audit:export"), {"until": "nope"}).status_code == 400


def test_it_paginates(cast, client_for):
    for index in range(60):
        audit_record(actor="system", action="test.bulk", object_type="thing", object_id=index)
    client = client_for(cast.staff)
    first = client.get(reverse("audit:list"), {"action": "test.bulk"}).content.decode()
    assert "Page 1 of 2" in first and first.count('<tr id="event-') == 50
    second = client.get(reverse("audit:list"), {"action": "test.bulk", "page": 2}).content.decode()
    assert second.count('<tr id="event-') == 10
    assert "action=test.bulk&amp;page=1" in second


def test_the_csv_export_follows_the_filters_and_defuses_formulas(events, client_for):
    response = client_for(events.staff).get(reverse("audit:export"), {"object_type": "thing"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["seq", "at", "actor", "action", "object_type", "object_id", "detail", "hash"]
    assert len(rows) == 2
    assert rows[1][3] == "test.formula"
    assert rows[1][5] == "'=HYPERLINK(1)"
    assert rows[1][7] == AuditEvent.objects.get(action="test.formula").hash


def test_htmx_filtering_gets_the_events_partial(events, client_for):
    response = client_for(events.staff).get(
        reverse("audit:list"), {"action": "runbook."}, headers={"HX-Request": "true"}
    )
    assert response.content.decode().lstrip().startswith('<section id="events">')
