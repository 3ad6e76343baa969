"""Every route × every member of the cast (pretix's test_permissions pattern).

Each named route of the project has rows below saying, per person, what they get: the exact denial
(404 for outsiders — existence is not revealed —, 403 for a too-weak role, a sign-in redirect for
anonymous pages, 401 for the anonymous API) or `OK` (authorised: any 2xx, a redirect elsewhere, or a
400/409 because the empty request body was refused on its merits). A route that is added without a
row fails `test_every_route_is_in_the_matrix`. Area tests go deeper (exact bodies, side effects);
this file guarantees nothing is left unguarded.
"""

import re
import uuid
from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from apps.core.heartbeats import heartbeat_connection, worker_heartbeat_write
from apps.executions.models import Execution, ExecutionEnvironment, StepRun

PEOPLE = ("anonymous", "owner", "editor", "runner", "viewer", "outsider", "staff", "admin")
OK, LOGIN, ADMIN_LOGIN = "ok", "login", "admin-login"


def access(anonymous=LOGIN, **denied) -> dict:
    """Who is refused and how; everyone not named is authorised."""
    return {person: denied.get(person, OK) for person in PEOPLE} | {"anonymous": anonymous}


PUBLIC = {person: OK for person in PEOPLE}
SIGNED_IN = access()
SIGNED_IN_API = access(anonymous=401)
STAFF_ONLY = access(owner=403, editor=403, runner=403, viewer=403, outsider=403)
STAFF_ONLY_API = access(401, owner=403, editor=403, runner=403, viewer=403, outsider=403)
RB_VIEW = access(outsider=404, staff=404)
RB_RUN = access(viewer=403, outsider=404, staff=404)
RB_EDIT = access(runner=403, viewer=403, outsider=404, staff=404)
RB_SHARE = access(editor=403, runner=403, viewer=403, outsider=404, staff=404)
# The credential: owner holds `owner`, editor holds `user`, nobody else any role.
CRED_USE = access(runner=404, viewer=404, outsider=404, staff=404)
CRED_OWNER = access(editor=403, runner=404, viewer=404, outsider=404, staff=404)
# The API token belongs to owner: anyone else's id is not theirs to see.
OWN_TOKEN = access(editor=404, runner=404, viewer=404, outsider=404, staff=404, admin=404)


def api(spec: dict) -> dict:
    return spec | {"anonymous": 401}


# (route name, method, who gets what). Every method a route serves has a row.
MATRIX = [
    ("home", "get", PUBLIC),
    ("healthz", "get", PUBLIC),
    ("accounts:login", "get", PUBLIC),
    ("accounts:login", "post", PUBLIC),
    ("accounts:logout", "post", PUBLIC),
    ("accounts:profile", "get", SIGNED_IN),
    ("accounts:token_create", "post", SIGNED_IN),
    ("accounts:token_revoke", "get", OWN_TOKEN),
    ("accounts:token_revoke", "post", OWN_TOKEN),
    ("runbooks:list", "get", SIGNED_IN),
    ("runbooks:load_demo", "post", STAFF_ONLY),
    ("runbooks:import", "get", SIGNED_IN),
    ("runbooks:import", "post", SIGNED_IN),
    ("runbooks:export", "get", RB_VIEW),
    ("runbooks:import_over", "get", RB_EDIT),
    ("runbooks:import_over", "post", RB_EDIT),
    ("runbooks:create", "get", SIGNED_IN),
    ("runbooks:create", "post", SIGNED_IN),
    ("runbooks:preview", "post", SIGNED_IN),
    ("runbooks:parameter_row", "get", SIGNED_IN),
    ("runbooks:detail", "get", RB_VIEW),
    ("runbooks:edit", "get", RB_EDIT),
    ("runbooks:edit", "post", RB_EDIT),
    ("runbooks:run", "get", RB_RUN),
    ("runbooks:run", "post", RB_RUN),
    ("runbooks:archive", "get", RB_SHARE),
    ("runbooks:archive", "post", RB_SHARE),
    ("runbooks:share", "get", RB_SHARE),
    ("runbooks:share_grant", "post", RB_SHARE),
    ("runbooks:share_change", "post", RB_SHARE),
    ("runbooks:block_new", "get", RB_EDIT),
    ("runbooks:block_create", "post", RB_EDIT),
    ("runbooks:blocks_reorder", "post", RB_EDIT),
    ("runbooks:block_detail", "get", RB_VIEW),
    ("runbooks:block_edit", "get", RB_EDIT),
    ("runbooks:block_edit", "post", RB_EDIT),
    ("runbooks:block_delete", "get", RB_EDIT),
    ("runbooks:block_delete", "post", RB_EDIT),
    ("runbooks:block_move", "post", RB_EDIT),
    ("runbooks:versions", "get", RB_VIEW),
    ("runbooks:publish", "post", RB_EDIT),
    ("runbooks:version_detail", "get", RB_VIEW),
    ("runbooks:rollback", "get", RB_EDIT),
    ("runbooks:rollback", "post", RB_EDIT),
    ("runbooks:diff", "get", RB_VIEW),
    ("runbooks:history", "get", RB_VIEW),
    ("credentials:list", "get", SIGNED_IN),
    ("credentials:create", "get", SIGNED_IN),
    ("credentials:create", "post", SIGNED_IN),
    ("credentials:detail", "get", CRED_USE),
    ("credentials:edit", "get", CRED_OWNER),
    ("credentials:edit", "post", CRED_OWNER),
    ("credentials:delete", "get", CRED_OWNER),
    ("credentials:delete", "post", CRED_OWNER),
    ("credentials:share", "get", CRED_OWNER),
    ("credentials:share", "post", CRED_OWNER),
    ("credentials:usage-revoke", "get", CRED_OWNER),
    ("credentials:usage-revoke", "post", CRED_OWNER),
    ("credentials:usage-restore", "post", CRED_OWNER),
    ("audit:list", "get", STAFF_ONLY),
    ("audit:export", "get", STAFF_ONLY),
    ("executions:list", "get", SIGNED_IN),
    ("executions:detail", "get", RB_VIEW),
    ("executions:cancel", "post", RB_RUN),
    ("executions:step_decide", "post", RB_RUN),
    ("executions:step_skip_timer", "post", RB_RUN),
    ("executions:retry", "post", RB_RUN),
    ("executions:output", "get", RB_VIEW),
    ("executions:output_download", "get", RB_VIEW),
    ("environments:list", "get", SIGNED_IN),
    ("environments:detail", "get", SIGNED_IN),
    ("environments:create", "get", STAFF_ONLY),
    ("environments:create", "post", STAFF_ONLY),
    ("environments:edit", "get", STAFF_ONLY),
    ("environments:edit", "post", STAFF_ONLY),
    ("environments:delete", "get", STAFF_ONLY),
    ("environments:delete", "post", STAFF_ONLY),
    ("environments:rebuild", "post", STAFF_ONLY),
    ("runbooks-api:runbook-list", "get", SIGNED_IN_API),
    ("runbooks-api:runbook-list", "post", SIGNED_IN_API),
    ("runbooks-api:runbook-detail", "get", api(RB_VIEW)),
    ("runbooks-api:runbook-detail", "patch", api(RB_EDIT)),
    ("runbooks-api:runbook-detail", "delete", api(RB_SHARE)),
    ("runbooks-api:runbook-access", "get", api(RB_SHARE)),
    ("runbooks-api:runbook-access", "put", api(RB_SHARE)),
    ("versions-api:version-list", "get", api(RB_VIEW)),
    ("versions-api:version-list", "post", api(RB_EDIT)),
    ("versions-api:version-detail", "get", api(RB_VIEW)),
    ("versions-api:version-rollback", "post", api(RB_EDIT)),
    ("exchange-api:runbook-export", "get", api(RB_VIEW)),
    ("exchange-api:runbook-import", "post", SIGNED_IN_API),
    ("exchange-api:runbook-import-replace", "put", api(RB_EDIT)),
    ("api-credential-list", "get", SIGNED_IN_API),
    ("api-credential-list", "post", SIGNED_IN_API),
    ("api-credential-detail", "get", api(CRED_USE)),
    ("api-credential-detail", "patch", api(CRED_OWNER)),
    ("api-credential-detail", "delete", api(CRED_OWNER)),
    ("api-credential-access", "get", api(CRED_OWNER)),
    ("api-credential-access", "put", api(CRED_OWNER)),
    ("usage-api:credential-usage", "get", api(CRED_USE)),
    ("usage-api:credential-usage-item", "delete", api(CRED_OWNER)),
    ("usage-api:credential-usage-item", "put", api(CRED_OWNER)),
    ("audit-api:audit-list", "get", STAFF_ONLY_API),
    ("executions-api:runbook-executions", "post", api(RB_RUN)),
    ("executions-api:execution-list", "get", SIGNED_IN_API),
    ("executions-api:execution-detail", "get", api(RB_VIEW)),
    ("executions-api:execution-cancel", "post", api(RB_RUN)),
    ("executions-api:execution-step-confirm", "post", api(RB_RUN)),
    ("executions-api:execution-retry", "post", api(RB_RUN)),
    ("api-environment-list", "get", SIGNED_IN_API),
    ("api-environment-list", "post", STAFF_ONLY_API),
    ("api-environment-detail", "get", SIGNED_IN_API),
    ("api-environment-detail", "patch", STAFF_ONLY_API),
    ("api-environment-detail", "delete", STAFF_ONLY_API),
    # A hook authenticates by its secret alone: without it everyone gets the same 401.
    ("automation:hook", "post", {person: 401 for person in PEOPLE}),
    ("automation:triggers", "get", RB_EDIT),
    ("automation:triggers", "post", RB_EDIT),
    ("automation:trigger", "get", RB_EDIT),
    ("automation:trigger_rotate", "post", RB_EDIT),
    ("automation:trigger_toggle", "post", RB_EDIT),
    ("automation:trigger_delete", "get", RB_EDIT),
    ("automation:trigger_delete", "post", RB_EDIT),
    ("automation:proposal", "get", RB_VIEW),
    ("automation:proposal_start", "post", RB_RUN),
    ("automation:proposal_dismiss", "post", RB_RUN),
    ("automation-api:runbook-triggers", "get", api(RB_EDIT)),
    ("automation-api:runbook-triggers", "post", api(RB_EDIT)),
    ("automation-api:trigger-detail", "get", api(RB_EDIT)),
    ("automation-api:trigger-detail", "patch", api(RB_EDIT)),
    ("automation-api:trigger-detail", "delete", api(RB_EDIT)),
    ("automation-api:trigger-rotate", "post", api(RB_EDIT)),
    ("automation-api:trigger-deliveries", "get", api(RB_EDIT)),
    ("automation:schedules", "get", RB_EDIT),
    ("automation:schedules", "post", RB_EDIT),
    ("automation:schedule_toggle", "post", RB_EDIT),
    ("automation:schedule_delete", "post", RB_EDIT),
    ("automation-api:runbook-schedules", "get", api(RB_EDIT)),
    ("automation-api:runbook-schedules", "post", api(RB_EDIT)),
    ("automation-api:schedule-detail", "get", api(RB_EDIT)),
    ("automation-api:schedule-detail", "patch", api(RB_EDIT)),
    ("automation-api:schedule-detail", "delete", api(RB_EDIT)),
    ("automation:notifications", "get", RB_EDIT),
    ("automation:notifications", "post", RB_EDIT),
    ("automation:notification_delete", "post", RB_EDIT),
    ("automation-api:runbook-notifications", "get", api(RB_EDIT)),
    ("automation-api:runbook-notifications", "post", api(RB_EDIT)),
    ("automation-api:notification-detail", "delete", api(RB_EDIT)),
    # The schema describes routes, never data: public, like most APIs' OpenAPI documents.
    ("api-schema", "get", PUBLIC),
    ("api-docs", "get", PUBLIC),
]


def project_routes() -> dict[str, str]:
    """{namespaced name: pattern} of every route, the admin's apart."""
    routes: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(filter(None, [namespace, pattern.namespace]))
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                label = pattern.name or f"<unnamed {pattern.pattern}>"
                name = ":".join(filter(None, [namespace, label]))
                routes[name] = prefix + str(pattern.pattern)

    walk(get_resolver().url_patterns, "/", "")
    return routes


ROUTES = project_routes()


def test_every_route_is_in_the_matrix():
    covered = {name for name, _, _ in MATRIX}
    missing = sorted(name for name in ROUTES if not name.startswith("admin:") and name not in covered)
    assert missing == [], f"Routes without a permission-matrix row: {missing}"
    assert sorted(covered - set(ROUTES)) == [], "Matrix rows for routes that no longer exist"


@pytest.fixture
def world(cast, django_user_model, settings):
    from apps.accounts.services import api_token_create
    from apps.credentials.services import credential_create, credential_grant
    from apps.runbooks.services.runbooks import runbook_create
    from apps.runbooks.versions import runbook_publish

    version = runbook_publish(runbook=cast.runbook, user=cast.owner, message="First")
    credential = credential_create(user=cast.owner, name="deploy-token", kind="token", secret="matrix-secret-value")
    credential_grant(credential=credential, actor=cast.owner, principal=cast.editor, role="user")
    token, _ = api_token_create(user=cast.owner, name="laptop")
    # Uses the credential: the usage routes answer only for a runbook that does.
    using = runbook_create(
        user=cast.owner,
        title="Uses the token",
        blocks=[{"key": "call", "kind": "command", "config": {"script": "true", "credentials": [credential.pk]}}],
    )
    environment = ExecutionEnvironment.objects.create(name="matrix-env", image="runbooks-test-busybox:latest")
    execution = Execution.objects.create(
        runbook=cast.runbook, version=version, snapshot=version.snapshot, status="succeeded", triggered_by=cast.runner
    )
    step = StepRun.objects.create(
        execution=execution, position=0, block_key="intro", kind="instruction", status="succeeded"
    )
    block = cast.runbook.blocks.get(key="restart")
    # A live worker that reaches Docker, under keys of this test alone: /healthz answers 200.
    settings.RUNBOOKS_WORKER_HEARTBEAT_PREFIX = f"test-heartbeat-{uuid.uuid4().hex[:12]}:"
    worker_heartbeat_write(connection=heartbeat_connection(), worker="matrix-worker", docker=None)
    from apps.automation.models import Proposal
    from apps.automation.services import trigger_create

    trigger, _ = trigger_create(runbook=cast.runbook, user=cast.editor, data={"name": "matrix-hook"})
    proposal = Proposal.objects.create(trigger=trigger, runbook=cast.runbook, params={})
    from apps.automation.schedules import schedule_create

    schedule = schedule_create(runbook=cast.runbook, user=cast.editor, data={"cron": "0 3 * * *"})
    from apps.automation.notifications import notification_create

    notification = notification_create(
        runbook=cast.runbook, user=cast.editor, data={"events": ["failed"], "channel": "email", "target": "viewer"}
    )
    return SimpleNamespace(
        cast=cast, version=version, credential=credential, token=token, environment=environment,
        execution=execution, step=step, block=block, using=using, trigger=trigger, proposal=proposal,
        schedule=schedule, notification=notification,
    )  # fmt: skip


def url_for(name: str, world) -> str:
    pattern = ROUTES[name]
    pk = {
        "accounts": world.token.pk,
        "credentials": world.credential.pk,
        "api-credential": world.credential.pk,
        "usage-api": world.credential.pk,
        "executions": world.execution.pk,
        "environments": world.environment.pk,
        "api-environment": world.environment.pk,
    }
    area = next((key for key in pk if name.startswith(key)), None)
    if name.startswith("executions-api:execution-"):
        area = "executions"
    elif name.startswith("executions-api:runbook-"):
        area = None  # /runbooks/{runbook}/executions/: the runbook's key, not an execution's
    automation = {
        "trigger": world.trigger.pk,
        "trigger_": world.trigger.pk,
        "trigger-": world.trigger.pk,
        "proposal": world.proposal.pk,
        "proposal_": world.proposal.pk,
        "schedule_": world.schedule.pk,
        "schedule-": world.schedule.pk,
        "notification_": world.notification.pk,
        "notification-": world.notification.pk,
    }
    own = name.split(":")[-1]
    automation_pk = next(
        (value for key, value in automation.items() if own == key or (own.startswith(key) and key[-1] in "_-")), None
    )
    if name.startswith(("automation:", "automation-api:")) and automation_pk is not None:
        pk[area := "automation"] = automation_pk
    values = {
        "pk": pk[area] if area else world.cast.runbook.pk,
        "block_pk": world.block.pk,
        "number": world.version.number,
        "step_pk": world.step.pk,
        "key": world.step.block_key,
        "runbook_id": world.using.pk,
        "uuid": world.trigger.uuid,
    }
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda match: str(values[match.group(1)]), pattern)


def client_of(person: str, world, *, api_route: bool):
    if person == "anonymous":
        return APIClient() if api_route else APIClient(enforce_csrf_checks=False)
    client = APIClient()
    client.force_login(getattr(world.cast, person))
    return client


# Route names of the JSON API: those answer 401, not a sign-in redirect, to the anonymous.
API_PREFIXES = (
    "api-", "runbooks-api", "versions-api", "executions-api", "audit-api", "usage-api", "exchange-api", "automation-api",
)  # fmt: skip


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize(("name", "method", "expected"), MATRIX, ids=[f"{m.upper()} {n}" for n, m, _ in MATRIX])
def test_each_route_answers_each_person_as_documented(world, person, name, method, expected):
    is_api = name.startswith(API_PREFIXES)
    client = client_of(person, world, api_route=is_api)
    response = getattr(client, method)(url_for(name, world), **({"format": "json", "data": {}} if is_api else {}))
    want = expected[person]
    location = response.get("Location", "")
    if want == OK:
        assert response.status_code < 500, response.content[:500]
        assert response.status_code not in (401, 403, 404, 405), (response.status_code, response.content[:300])
        assert "/accounts/login/" not in location or name.startswith("accounts:")
    elif want == LOGIN:
        assert response.status_code == 302 and location.startswith("/accounts/login/"), (response.status_code, location)
    else:
        assert response.status_code == want, (response.status_code, response.content[:300])


ADMIN_ROUTES = sorted(name for name in ROUTES if name.startswith("admin:"))


@pytest.mark.parametrize("person", ("anonymous", "owner", "outsider"))
@pytest.mark.parametrize("name", ADMIN_ROUTES)
def test_the_admin_sends_everyone_but_staff_to_its_sign_in(world, person, name):
    """The admin's own guard covers its routes; staff and superuser pages are tested in test_admin.py."""
    url = re.sub(r"<(?:\w+:)?(\w+)>", "1", ROUTES[name]).replace("^", "").replace("$", "")
    client = client_of(person, world, api_route=False)
    response = client.get(url)
    if name == "admin:login":
        assert response.status_code in (200, 302)
    elif name == "admin:logout":
        assert response.status_code in (302, 405)  # signing out guards nothing; it never shows data
    else:
        assert response.status_code in (302, 404), response.status_code
        if response.status_code == 302:
            assert "/admin/login/" in response["Location"]
