"""Acceptance: a sentinel secret saved through the UI and the API never comes back out.

The crawler walks every route the URL resolver knows (so routes added later are crawled too), fills
each parameter with real ids of the objects in the database, and GETs every resulting URL as the
owner, a staff member and a superuser, as a full page and as an HTMX request. Responses, captured
logs and every text column of every table must not hold the sentinel in any spelling.
"""

import base64
import html
import itertools
import json
import logging
import re
from urllib.parse import quote, quote_plus

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.urls.resolvers import LocalePrefixPattern, RoutePattern
from django.utils.html import escape, escapejs
from django.utils.regex_helper import normalize

from apps.credentials.models import Credential
from apps.runbooks.models import Block, Runbook, RunbookVersion
from apps.runbooks.services.runbooks import runbook_update

SENTINEL = 'Snt1/+ "q&<x>é=5f0c9e1d7a'
MAX_COMBINATIONS = 40
ROUTE_PARAM_RE = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def forbidden_spellings(secret: str) -> set[str]:
    data = secret.encode()
    spellings = {
        secret, escape(secret), html.escape(secret, quote=False), escapejs(secret),
        quote(secret, safe=""), quote(secret), quote_plus(secret),
        json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
    }  # fmt: skip
    spellings |= {escape(json.dumps(secret)[1:-1]), escape(json.dumps(secret, ensure_ascii=False)[1:-1])}
    for offset in (0, 1, 2):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + data).decode()
            spellings.add(encoded[-(-offset * 8 // 6) : (offset + len(data)) * 8 // 6])
    return spellings


def leaks(text: str, forbidden: set[str]) -> list[str]:
    return [spelling for spelling in forbidden if spelling in text]


def all_routes():
    """(template with {name} placeholders, {name: kind}, callback) for every URL pattern, recursively."""

    def pieces(pattern) -> tuple[str, dict]:
        text = str(pattern)
        if isinstance(pattern, (RoutePattern, LocalePrefixPattern)):
            params = {}

            def placeholder(match):
                params[match["name"]] = match["converter"] or "str"
                return "{" + match["name"] + "}"

            return ROUTE_PARAM_RE.sub(placeholder, text), params
        # A regex: Django's own reverse() helper turns it into a format string.
        template, names = normalize(text.lstrip("^"))[0]
        names = [name for name in names]
        return template.replace("%%", "\0") % {name: "{" + name + "}" for name in names}, dict.fromkeys(names, "regex")

    def walk(patterns, prefix: str, params: dict):
        for pattern in patterns:
            template, own = pieces(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + template, {**params, **own})
            elif isinstance(pattern, URLPattern):
                yield (prefix + template).replace("\0", "%").rstrip("$"), {**params, **own}, pattern.callback

    yield from walk(get_resolver().url_patterns, "/", {})


def candidate_values(callback, name: str, kind: str, pools: dict) -> list[str]:
    model_admin = getattr(callback, "model_admin", None)
    if model_admin is not None and name == "object_id":
        model = model_admin.model
        if not model._meta.managed:
            return []
        pks = list(model._default_manager.order_by("pk").values_list("pk", flat=True))
        return [str(pk) for pk in (pks if model is Credential else pks[:3])]
    if kind == "int":
        return [str(value) for value in pools["ints"]]
    # App labels only where a regex may ask for one (the admin's app index), to keep the crawl short.
    strings = [*pools["strings"], *pools["app_labels"]] if kind == "regex" else pools["strings"]
    return [str(value) for value in (*strings, *pools["ints"][:3])]


def concrete_paths(pools: dict):
    seen = set()
    for template, params, callback in all_routes():
        choices = [candidate_values(callback, name, kind, pools) for name, kind in params.items()]
        for values in itertools.islice(itertools.product(*choices), MAX_COMBINATIONS):
            path = template.format(**dict(zip(params, values, strict=True)))
            if path in seen:
                continue
            try:
                match = resolve(path)
            except Resolver404:
                continue
            if match.func is callback:
                seen.add(path)
                yield template, path


def id_pools() -> dict:
    """Real ids of the objects created: credentials and runbook objects first, then other models' rows."""

    ints: list[int] = list(Credential.objects.order_by("pk").values_list("pk", flat=True))
    ints.extend(Runbook.objects.order_by("pk").values_list("pk", flat=True)[:2])
    ints.extend(Block.objects.order_by("pk").values_list("pk", flat=True)[:3])
    ints.extend(RunbookVersion.objects.order_by("pk").values_list("number", flat=True)[:2])
    for model in apps.get_models():
        if model._meta.managed and model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField", "IntegerField"):
            ints.extend(model._default_manager.order_by("pk").values_list("pk", flat=True)[:3])
    ints.extend(range(1, 4))
    strings = [*Credential.objects.values_list("name", flat=True), *Block.objects.values_list("key", flat=True)[:3]]
    app_labels = {model_admin.model._meta.app_label for model_admin in admin.site._registry.values()}
    return {
        "ints": list(dict.fromkeys(ints))[:10],
        "strings": [*dict.fromkeys(strings), "draft"],
        "app_labels": sorted(app_labels),
    }


def body_of(response) -> str:
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return content.decode("utf-8", errors="replace") + "\n" + str(dict(response.headers))


def text_columns_everywhere() -> dict[str, list[str]]:
    """Every value of every column of every table, as text, by table."""
    found: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            found[table] = [
                value.decode("utf-8", "replace") if isinstance(value, (bytes, memoryview)) else str(value)
                for row in cursor.fetchall()
                for value in (bytes(row_value) if isinstance(row_value, memoryview) else row_value for row_value in row)
            ]
    return found


@pytest.fixture
def sentinel_world(cast, client_for, api_for, caplog):
    """The sentinel saved through the UI and the API, attached to blocks, with failed saves too."""
    caplog.set_level(logging.DEBUG)
    owner_page = client_for(cast.owner)
    created = owner_page.post(
        "/credentials/new/", {"name": "ui-sentinel", "kind": "basic", "username": "svc", "secret": SENTINEL}
    )
    assert created.status_code == 302
    api = api_for(cast.owner)
    answer = api.post(
        "/api/v1/credentials/", {"name": "api-sentinel", "kind": "secret", "secret": SENTINEL}, format="json"
    )
    assert answer.status_code == 201
    ui_credential = Credential.objects.get(name="ui-sentinel")
    api_credential = Credential.objects.get(name="api-sentinel")
    assert ui_credential.secret == api_credential.secret == SENTINEL
    # Edits that replace and that keep the secret, a share, and failed saves that carried it.
    owner_page.post(
        f"/credentials/{ui_credential.pk}/edit/",
        {"name": "ui-sentinel", "kind": "basic", "username": "svc", "description": "edited", "secret": SENTINEL},
    )
    api.patch(f"/api/v1/credentials/{api_credential.pk}/", {"description": "edited"}, format="json")
    owner_page.post(f"/credentials/{ui_credential.pk}/share/", {"principal": "group:sre", "role": "user"})
    failures = [
        owner_page.post("/credentials/new/", {"name": "ui-sentinel", "kind": "token", "secret": SENTINEL}),
        owner_page.post("/credentials/new/", {"name": "bad name!", "kind": "nope", "secret": SENTINEL}),
        owner_page.post(f"/credentials/{ui_credential.pk}/edit/", {"name": "", "kind": "token", "secret": SENTINEL}),
        api.post("/api/v1/credentials/", {"name": "api-sentinel", "kind": "secret", "secret": SENTINEL}, format="json"),
        api.patch(f"/api/v1/credentials/{api_credential.pk}/", {"kind": "nope", "secret": SENTINEL}, format="json"),
        client_for(cast.admin).post(
            "/admin/credentials/credential/add/", {"name": "ui-sentinel", "kind": "token", "new_secret": SENTINEL}
        ),
    ]
    runbook = cast.runbook
    runbook.refresh_from_db()
    runbook_update(runbook=runbook, user=cast.owner, revision=runbook.revision, blocks=[
        {"key": "intro", "kind": "instruction", "config": {"markdown": "Check the dashboard first."}},
        {"key": "restart", "kind": "command", "config": {"script": "echo restarting", "credentials": [ui_credential.pk]}},
        {"key": "call", "kind": "api_call", "config": {"url": "https://example.com", "credential": api_credential.pk}},
    ])  # fmt: skip
    return {"credentials": [ui_credential, api_credential], "failures": failures}


def _crawl(cast, forbidden: set[str]) -> tuple[dict[tuple[str, str], int], list[tuple[str, str]]]:
    """GET every concrete route as owner, staff and admin (pages also as htmx): the statuses and the leaks."""
    clients = {}
    for name in ("owner", "staff", "admin"):
        # Errors become 500 responses to check, not exceptions that stop the crawl.
        clients[name] = Client(raise_request_exception=False)
        clients[name].force_login(getattr(cast, name))
    statuses: dict[tuple[str, str], int] = {}
    problems = []
    paths = list(concrete_paths(id_pools()))
    assert len(paths) > 50
    for _template, path in [*paths, ("(no route)", "/no/such/page/")]:
        htmx_variants = [False] if path.startswith(("/admin/", "/api/")) else [False, True]
        for user, client in clients.items():
            for htmx in htmx_variants:
                response = client.get(path, HTTP_HX_REQUEST="true") if htmx else client.get(path)
                statuses[(path, user)] = response.status_code
                for spelling in leaks(body_of(response), forbidden):
                    problems.append((f"GET {path} as {user}{' (htmx)' if htmx else ''}", spelling))
    return statuses, problems


def _stored_leaks() -> list[tuple[str, str]]:
    problems = []
    for table, values in text_columns_everywhere().items():
        for value in values:
            problems += [(f"table {table}", spelling) for spelling in leaks(value, forbidden_spellings(SENTINEL))]
            if "historical" in table and "gAAAAA" in value:
                problems.append((f"table {table}", "ciphertext"))
    return problems


def test_the_sentinel_never_leaves_the_store(sentinel_world, cast, caplog):
    caplog.set_level(logging.DEBUG)
    forbidden = forbidden_spellings(SENTINEL)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM credentials_credential")
        forbidden |= {token for (token,) in cursor.fetchall()}  # ciphertext is not for pages either
    problems = []
    for response in sentinel_world["failures"]:
        assert response.status_code == 400 or (response.status_code == 200 and b"errorlist" in response.content)
        problems += [("failed save", spelling) for spelling in leaks(body_of(response), forbidden)]

    statuses, crawl_problems = _crawl(cast, forbidden)
    problems += crawl_problems

    for record in [*caplog.get_records("setup"), *caplog.records]:
        text = logging.Formatter("%(name)s %(message)s").format(record)
        problems += [(f"log {record.name}", spelling) for spelling in leaks(text, forbidden)]

    problems += _stored_leaks()
    assert problems == []
    # The crawl really reached the pages that matter (else the checks above prove nothing).
    for credential in sentinel_world["credentials"]:
        for suffix in ("", "edit/", "delete/", "share/"):
            assert statuses[(f"/credentials/{credential.pk}/{suffix}", "owner")] == 200
            assert statuses[(f"/credentials/{credential.pk}/{suffix}", "staff")] == 404
        assert statuses[(f"/api/v1/credentials/{credential.pk}/", "owner")] == 200
        for suffix in ("change/", "history/"):
            assert statuses[(f"/admin/credentials/credential/{credential.pk}/{suffix}", "admin")] == 200
        # Both are attached to blocks, so the admin refuses to delete them.
        assert statuses[(f"/admin/credentials/credential/{credential.pk}/delete/", "admin")] == 403
    assert statuses[("/credentials/", "owner")] == 200
    assert statuses[("/admin/credentials/credential/", "admin")] == 200
