"""Issue 12: schemathesis over every operation that /api/schema/ publishes under /api/v1/.

For each operation, schemathesis generates requests the schema calls valid (positive) and requests
it calls invalid (negative), and sends them in-process to the WSGI application, inside the test's
transaction on the test database (PostgreSQL in CI). Two promises are checked:

- `not_a_server_error`: no 5xx, whatever is sent.
- no "schema validation mismatch" (schemathesis' own warning, same rule): an operation whose valid
  requests are all refused, mostly with validation errors (400, 413, 422 … rather than 401/403/
  404/409), publishes a schema that clients generated from it cannot use.

The caller is a staff superuser who owns a runbook, a credential, an environment and a queued
execution; half of the generated path ids are replaced by those real ids, so operations reach their
validation instead of stopping at 404. The operations come from the schema itself: a route added
later is fuzzed without touching this file.
"""

import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from werkzeug.test import Client as WsgiClient

from apps.accounts.services import api_token_create
from apps.credentials.services import credential_create
from apps.environments.services import environment_create
from apps.executions.services.start import execution_start
from apps.runbooks.models import Runbook
from apps.runbooks.services.runbooks import runbook_create, runbook_update
from apps.runbooks.versions import runbook_publish
from runbooks_site.wsgi import application

# Bounded for CI: the whole module stays within a few minutes on two cores.
EXAMPLES = int(os.environ.get("RUNBOOKS_FUZZ_EXAMPLES", "20"))
# What schemathesis leaves out of its validation-mismatch count: the request may be fine.
NOT_ABOUT_THE_DATA = {401, 403, 404, 409, 429}

# Loaded at collection (the schema needs no database), so each operation is a test of its own.
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application).include(path_regex=r"^/api/v1/")
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    # Django's test client does the same: the end of a request must not close the connection that
    # holds the test's transaction (schemathesis calls the WSGI application directly).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def known(cast):
    """A token of the caller, and its real objects by what names them in a path or a body."""

    user = cast.admin
    # The first environment becomes the default, which cannot be deleted; paths get the second.
    default = environment_create(user=user, data={"name": "fuzz-default", "image": "runbooks-test-busybox:latest"})
    spare = environment_create(user=user, data={"name": "fuzz-spare", "image": "runbooks-test-busybox:latest"})
    credential = credential_create(user=user, name="fuzz-token", kind="token", secret="fuzz-secret-value-1")
    runbook = runbook_create(
        user=user,
        title="Fuzzed runbook",
        tags=["fuzz"],
        environment=default.pk,
        parameters=[{"name": "TARGET", "label": "Target", "default": "a", "choices": ["a", "b"]}],
        blocks=[
            {"key": "check", "kind": "instruction", "config": {"markdown": "Look first.", "gate": "confirm"}},
            {"key": "act", "kind": "command", "config": {"script": "echo hi", "credentials": [credential.pk]}},
        ],
    )
    runbook_publish(runbook=runbook, user=user, message="v1")
    # A draft that differs from v1, so that publishing and rolling back to v1 have something to do.
    runbook = runbook_update(runbook=runbook, user=user, revision=runbook.revision, title="Fuzzed runbook, edited")
    # Queued only: the test's transaction never commits, so no worker job is enqueued.
    execution = execution_start(runbook=runbook, user=user)
    _, token = api_token_create(user=user, name="fuzz")
    # A real runbook file, for the routes whose body is a document rather than JSON.
    # (werkzeug's client, as schemathesis uses: Django's would reconnect close_old_connections.)
    export = WsgiClient(application).get(
        f"/api/v1/runbooks/{runbook.pk}/export", headers={"Authorization": f"Bearer {token}"}
    )
    return {
        "token": f"Bearer {token}",
        # Path parameters: `id` by the collection it is in, the others by name.
        "ids": {
            "runbooks": runbook.pk,
            "credentials": credential.pk,
            "environments": spare.pk,
            "executions": execution.pk,
        },
        "path": {"runbook_id": runbook.pk, "number": 1, "key": "check"},
        "document": export.get_data(as_text=True) if export.status_code == 200 else None,
        # Body fields that refer to existing things, as path ids do: a random one names nothing.
        "body": {
            "principal": "user:admin",
            # A notification's recipient: a username (or group:NAME, or an apprise credential's id).
            "target": "admin",
            "environment": default.pk,
            "credentials": [credential.pk],
            "credential": credential.pk,
            "block": "act",
            "from": "act",
            "params": {"TARGET": "b"},
            # The draft's revision as it is when the request is sent: each accepted change moves it.
            "revision": lambda: Runbook.objects.get(pk=runbook.pk).revision,
        },
    }


def _heads(value) -> bool:
    """A stable coin toss on a generated value: half of them are pinned, half stay as generated."""
    return not sum(map(ord, repr(value))) % 2


def _known_value(value):
    return value() if callable(value) else value


def _pin_body(value, known: dict):
    if isinstance(value, dict):
        return {
            name: _known_value(known["body"][name]) if name in known["body"] else _pin_body(item, known)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [_pin_body(item, known) for item in value]
    return value


def pin_known_ids(case, known: dict) -> None:
    """Point the references of half of the cases (path ids, principals, …) at real objects."""
    parameters = case.path_parameters or {}
    collection = case.operation.path.split("/")[3]  # /api/v1/<collection>/…
    if not _heads((parameters, case.body)):
        return
    for name in parameters:
        if name == "id" and collection in known["ids"]:
            parameters[name] = known["ids"][collection]
        elif name in known["path"]:
            parameters[name] = known["path"][name]
    if case.query:
        case.query = _pin_body(case.query, known)
    if isinstance(case.body, (dict, list)):
        case.body = _pin_body(case.body, known)
    elif isinstance(case.body, str) and (case.media_type or "").startswith("text/") and known["document"]:
        case.body = known["document"]


def send(case, known: dict) -> int:
    pin_known_ids(case, known)
    response = case.call_and_validate(headers={"Authorization": known["token"]}, checks=[not_a_server_error])
    return response.status_code


def fuzz(operation, mode: GenerationMode, known: dict) -> Counter:
    statuses: Counter = Counter()

    @given(case=operation.as_strategy(generation_mode=mode))
    # Derandomized and without an example database: the same cases on every run, nothing written.
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case):
        statuses[send(case, known)] += 1

    run()
    return statuses


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
def test_valid_requests_by_the_schema_are_served_and_none_answers_5xx(db, known, operation):
    statuses = fuzz(operation, GenerationMode.POSITIVE, known)
    served = sum(count for status, count in statuses.items() if status < 400)
    refused_for_data = sum(
        count for status, count in statuses.items() if status >= 400 and status not in NOT_ABOUT_THE_DATA
    )
    refused = sum(count for status, count in statuses.items() if status >= 400)
    # schemathesis' "schema validation mismatch": nothing valid was served, and at least a tenth of
    # the refusals were about the data the schema allowed.
    assert served or refused_for_data < 0.1 * refused, (
        f"{operation.label}: every request valid by the schema was refused ({dict(statuses)})"
    )


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
def test_invalid_requests_by_the_schema_never_answer_5xx(db, known, operation):
    fuzz(operation, GenerationMode.NEGATIVE, known)
