"""One matrix request: the URL of a row filled from the world, the client of a person, the judgement."""

import re

from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from .cases import LOGIN, Case, Raw, Redirect, login_redirect

# Which object a route's <pk> names, by the route's beginning (the first that matches); the runbook otherwise.
PK_OF = (
    ("/accounts/profile/tokens/", "token"),
    ("/credentials/", "credential"),
    ("/api/v1/credentials/", "credential"),
    ("/executions/", "execution"),
    ("/api/v1/executions/", "execution"),
    ("/environments/", "environment"),
    ("/api/v1/environments/", "environment"),
    ("/automation/triggers/", "trigger"),
    ("/api/v1/triggers/", "trigger"),
    ("/automation/proposals/", "proposal"),
    ("/automation/schedules/", "schedule"),
    ("/api/v1/schedules/", "schedule"),
    ("/automation/notifications/", "notification"),
    ("/api/v1/notifications/", "notification"),
)
OTHER_PARAMETERS = {
    "block_pk": "block", "number": "number", "step_pk": "step", "key": "step_key", "runbook_id": "using",
    "uuid": "uuid",
}  # fmt: skip
REFUSALS = (401, 403, 404, 405)
PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def project_routes() -> dict[str, URLPattern]:
    """{pattern: URL pattern} of every route the resolver knows."""
    routes: dict[str, URLPattern] = {}

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                routes[prefix + str(pattern.pattern)] = pattern

    walk(get_resolver().url_patterns, "/")
    return routes


def path_of(case: Case, world) -> str:
    names = {"pk": next((name for prefix, name in PK_OF if case.route.startswith(prefix)), "runbook")}
    names |= OTHER_PARAMETERS | case.on
    return PARAMETER.sub(lambda match: str(world.ids[names[match.group(1)]]), case.route)


def client_of(case: Case, world, person: str):
    if case.is_api:
        client = APIClient()
        if person != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.tokens[person]}")
        return client
    client = Client()
    if person != "anonymous":
        client.force_login(getattr(world.cast, person))
    return client


def send(case: Case, world, client, person: str):
    path = path_of(case, world)
    query = case.query(world) if callable(case.query) else case.query
    url = f"{path}?{query}" if query else path
    body = case.body(world, person) if callable(case.body) else case.body
    headers = {"HTTP_HX_REQUEST": "true"} if case.htmx else {}
    if isinstance(body, Raw):
        return url, getattr(client, case.method)(url, body.content, content_type=body.content_type, **headers)
    if case.is_api:
        return url, getattr(client, case.method)(url, body, format="json", **headers)
    return url, getattr(client, case.method)(url, body or {}, **headers)


# Rows written by any request, whatever it may do: the session, sign-in bookkeeping, a token's last use.
INCIDENTAL = ("django_session", "axes_")
UPDATED_ON_USE = ("accounts_apitoken", "auth_user")


def writes_so_far() -> dict | None:
    """{table: (inserted, updated, deleted)} by this transaction so far (PostgreSQL's own counters:
    one query, and it sees every table, new apps' too); None on another database."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables")
        rows = cursor.fetchall()
    return {
        name: (inserted, 0 if name in UPDATED_ON_USE else updated, deleted)
        for name, inserted, updated, deleted in rows
        if not name.startswith(INCIDENTAL) and (inserted or updated or deleted)
    }


def outcome(response) -> int | str:
    """What a response was: its status, or for a redirect where it leads."""
    if response.status_code == 302:
        return f"302 {response['Location']}"
    return response.status_code


def expected(case: Case, world, person: str, url: str) -> int | str:
    """The status wanted, or for a redirect a pattern its outcome() must match."""
    want = case.expect[person]
    if want is LOGIN:
        return re.escape(f"302 {login_redirect(url)}")
    if isinstance(want, Redirect):
        return "302 " + want.pattern(world.ids)
    return want


def is_refusal(want) -> bool:
    return want is LOGIN or want in REFUSALS
