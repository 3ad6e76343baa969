"""Every page, htmx route and /api/v1/ route × every member of the cast (pretix's test_permissions).

Outsiders get 404 (existence is not revealed), too-weak roles 403, the anonymous a sign-in
redirect on pages and 401 with a Bearer challenge on the API; the allowed get the exact success
status of a valid request, and it is seen to change the database (a refusal changes nothing).
A route added without a row fails `test_every_route_is_in_the_matrix`.
"""

import re
import uuid

import pytest

from apps.core.heartbeats import heartbeat_connection, worker_heartbeat_write

from .api import API
from .cases import PEOPLE, Case
from .pages import PAGES
from .requests import client_of, expected, is_refusal, outcome, project_routes, send, writes_so_far

CASES = [*PAGES, *API]


@pytest.fixture(autouse=True)
def site(settings, tmp_path):
    """What the site finds around it. A live worker that reaches Docker (under heartbeat keys of this
    test alone): /healthz answers 200. The demo's password file: the cast's superuser is called
    "admin", like the demo's, and with the file in place loading the demo keeps that account's
    password instead of refusing to reset it."""
    settings.RUNBOOKS_WORKER_HEARTBEAT_PREFIX = f"test-heartbeat-{uuid.uuid4().hex[:12]}:"
    worker_heartbeat_write(connection=heartbeat_connection(), worker="matrix-worker", docker=None)
    settings.VAR_DIR = tmp_path
    (tmp_path / "demo_admin_password").write_text("admin")


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_route_answers_each_person_exactly(world, db, case, person):
    client = client_of(case, world, person)
    before = writes_so_far()
    url, response = send(case, world, client, person)
    got, want = outcome(response), expected(case, world, person, url)
    if isinstance(want, str):
        assert isinstance(got, str) and re.fullmatch(want, got), (got, want, response.content[:300])
    else:
        assert got == want, (got, response.content[:300])
    if not case.is_api and want in (403, 404):
        # The project's error pages, not a bare status: they say what happened and show nothing else.
        assert (b"Not allowed" if want == 403 else b"Not found") in response.content
    if person == "anonymous" and want == 401 and case.is_api:
        assert response["WWW-Authenticate"] == "Bearer"
    if before is not None:
        changed = writes_so_far() != before
        wanted = not is_refusal(case.expect[person]) and case.changes_state()
        assert changed is wanted, "a refusal changes nothing; an allowed write does, a read does not"


def served_methods(pattern) -> set[str] | None:
    """The methods a DRF view serves (a viewset's actions, or an APIView's handlers); None for a page."""
    callback = pattern.callback
    if getattr(callback, "actions", None):
        return set(callback.actions)
    view = getattr(callback, "cls", None)
    if view is None:
        return None
    return {method for method in view.http_method_names if hasattr(view, method)} - {"options", "head"}


def test_every_route_is_in_the_matrix():
    """Pages and the API: each route has a row, and an API route one per method it serves."""
    routes = {route: pattern for route, pattern in project_routes().items() if not route.startswith("/admin/")}
    rows = {(case.route, case.method) for case in CASES}
    covered = {route for route, _ in rows}
    assert sorted(set(routes) - covered) == [], "routes without a permission-matrix row"
    assert sorted(covered - set(routes)) == [], "matrix rows for routes that no longer exist"
    for route, pattern in routes.items():
        methods = served_methods(pattern)
        if methods is not None:
            assert {method for row, method in rows if row == route} == methods, route


PAGE_ROUTES = sorted({case.route for case in PAGES})


@pytest.mark.parametrize("route", PAGE_ROUTES)
def test_a_page_refuses_the_methods_it_has_no_row_for(world, db, route):
    """GET and POST beyond a page's rows are 405 (a write never answers a GET, a page never takes a POST)."""
    rows = {case.method for case in PAGES if case.route == route}
    case = next(case for case in PAGES if case.route == route)
    for method in sorted({"get", "post"} - rows):
        other = Case(route, method, {}, on=case.on, query=case.query)
        _, response = send(other, world, client_of(other, world, "admin"), "admin")
        assert response.status_code == 405, (method, response.status_code)
