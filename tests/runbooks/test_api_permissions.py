"""Every runbook API route × every member of the cast gives the documented status.

Outsiders get 404 (existence is not revealed), too-weak roles 403, anonymous callers 401 with a
Bearer challenge. A route added to apps/runbooks/api_urls.py without a row here fails the suite.
"""

import pytest
from django.urls import URLPattern
from rest_framework.test import APIClient

from apps.runbooks import api_urls
from apps.runbooks.models import Runbook

PEOPLE = ("owner", "editor", "runner", "viewer", "outsider", "staff", "admin", "anonymous")


def expect(**statuses: int) -> dict[str, int]:
    """Statuses per person; anonymous is always 401 and anyone not named gets `rest`."""
    rest = statuses.pop("rest")
    return {person: statuses.get(person, rest) for person in PEOPLE} | {"anonymous": 401}


def full_access(cast) -> list[dict]:
    return [
        {"principal": "user:owner", "role": "owner"},
        {"principal": "user:editor", "role": "editor"},
        {"principal": "user:runner", "role": "runner"},
        {"principal": "user:viewer", "role": "viewer"},
    ]


# (url name, method, body factory, expected status per person)
MATRIX = [
    ("runbook-list", "get", None, expect(rest=200)),
    ("runbook-list", "post", lambda cast: {"title": "Failover the database"}, expect(rest=201)),
    ("runbook-detail", "get", None, expect(outsider=404, staff=404, rest=200)),
    (
        "runbook-detail",
        "patch",
        lambda cast: {"title": "Renamed", "revision": cast.runbook.revision},
        expect(owner=200, editor=200, admin=200, outsider=404, staff=404, rest=403),
    ),
    ("runbook-detail", "delete", None, expect(owner=204, admin=204, outsider=404, staff=404, rest=403)),
    ("runbook-access", "get", None, expect(owner=200, admin=200, outsider=404, staff=404, rest=403)),
    ("runbook-access", "put", full_access, expect(owner=200, admin=200, outsider=404, staff=404, rest=403)),
]


def url_for(name: str, cast) -> str:
    if name == "runbook-list":
        return "/api/v1/runbooks/"
    suffix = "access/" if name == "runbook-access" else ""
    return f"/api/v1/runbooks/{cast.runbook.pk}/{suffix}"


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize(
    ("name", "method", "body", "expected"), MATRIX, ids=[f"{row[1].upper()} {row[0]}" for row in MATRIX]
)
def test_each_route_answers_each_person_as_documented(cast, api_for, person, name, method, body, expected):
    api = APIClient() if person == "anonymous" else api_for(getattr(cast, person))
    kwargs = {"format": "json", "data": body(cast)} if body else {}
    response = getattr(api, method)(url_for(name, cast), **kwargs)
    assert response.status_code == expected[person], response.content
    if person == "anonymous":
        assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("person", ("outsider", "runner", "viewer"))
def test_refused_writes_leave_the_runbook_untouched(cast, api_for, person):
    api = api_for(getattr(cast, person))
    before = Runbook.objects.values().get(pk=cast.runbook.pk)
    api.patch(f"/api/v1/runbooks/{cast.runbook.pk}/", {"title": "Hijacked", "revision": 1}, format="json")
    api.delete(f"/api/v1/runbooks/{cast.runbook.pk}/")
    assert Runbook.objects.values().get(pk=cast.runbook.pk) == before


def test_an_editor_cannot_archive(cast, api_for):
    response = api_for(cast.editor).delete(f"/api/v1/runbooks/{cast.runbook.pk}/")
    assert response.status_code == 403
    assert Runbook.objects.get(pk=cast.runbook.pk).archived_at is None


def test_a_runbook_that_does_not_exist_is_404_for_everyone(cast, api_for):
    missing = Runbook.objects.order_by("-pk").first().pk + 1000
    for path in (f"/api/v1/runbooks/{missing}/", f"/api/v1/runbooks/{missing}/access/"):
        assert api_for(cast.admin).get(path).status_code == 404


def test_every_route_and_method_is_in_the_matrix():
    covered = {(name, method) for name, method, _, _ in MATRIX}
    served = set()
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        for method in pattern.callback.cls.http_method_names:
            if method != "options":
                served.add((pattern.name, method))
    assert served == covered
