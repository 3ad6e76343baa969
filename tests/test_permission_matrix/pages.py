"""The rows of every page and htmx route (each method it serves)."""

from apps.runbooks.exchange.services import runbook_export
from apps.runbooks.models import Runbook

from .cases import (
    Case,
    cred_owner,
    cred_use,
    grid,
    public,
    rb_edit,
    rb_run,
    rb_share,
    rb_view,
    signed_in,
    staff_only,
    to,
)

IMAGE = "runbooks-test-busybox:latest"
PREFIX = "new-0a1b2c3d"


def exported(world, person=None) -> str:
    """cast.runbook as a file, retitled: importing it creates or changes something."""
    text = runbook_export(runbook=Runbook.objects.get(pk=world.ids["runbook"]))
    return text.replace("Unpublished", "Imported")


def edited_command(world) -> dict:
    prefix = f"block-{world.ids['block']}"
    fields = {"key": "restart", "title": "Restart", "script": "echo again", "shell": "sh", "timeout_seconds": "300"}
    return {f"{prefix}-{name}": value for name, value in fields.items()} | revision(world)


def revision(world, person=None) -> dict:
    return {"revision": world.revision()}


ACCOUNTS = [
    Case("/", "get", public(to("/runbooks/"))),
    Case("/healthz", "get", public(200), writes=False),
    Case("/accounts/login/", "get", public(200)),
    # Everyone signs in as owner (the anonymous have no account of their own).
    # Signing in is audited: an allowed sign-in writes its event.
    Case("/accounts/login/", "post", public(to("/")), body={"username": "owner", "password": "owner"}),
    Case("/accounts/logout/", "post", public(to("/accounts/login/")), writes=False),  # only its session goes
    Case("/accounts/profile/", "get", signed_in(200)),
    Case("/accounts/profile/tokens/", "post", signed_in(201), body={"name": "cli"}),
    # The token is owner's: anyone else's request for it is a 404, the superuser's too.
    Case("/accounts/profile/tokens/<int:pk>/revoke/", "get",
         grid(200, editor=404, runner=404, viewer=404, outsider=404, staff=404, admin=404)),
    Case("/accounts/profile/tokens/<int:pk>/revoke/", "post",
         grid(to("/accounts/profile/"), editor=404, runner=404, viewer=404, outsider=404, staff=404, admin=404)),
    Case("/audit/", "get", staff_only(200)),
    Case("/audit/export.csv", "get", staff_only(200)),
]  # fmt: skip

RUNBOOKS = [
    Case("/runbooks/", "get", signed_in(200)),
    Case("/runbooks/demo", "post", staff_only(to("/runbooks/"))),
    Case("/runbooks/import", "get", signed_in(200)),
    Case("/runbooks/import", "post", signed_in(to("/runbooks/{new}/")), body=lambda w, p: {"text": exported(w)}),
    Case("/runbooks/<int:pk>/export", "get", rb_view(200)),
    Case("/runbooks/<int:pk>/import", "get", rb_edit(200)),
    Case("/runbooks/<int:pk>/import", "post", rb_edit(to("/runbooks/{runbook}/")),
         body=lambda w, p: {"text": exported(w), "confirm": "1", **revision(w)}),
    Case("/runbooks/new", "get", signed_in(200)),
    Case("/runbooks/new", "post", signed_in(to("/runbooks/{new}/")), body={"title": "Failover the database"}),
    Case("/runbooks/preview", "post", signed_in(200), body={"description": "**bold**"}, htmx=True, writes=False),
    Case("/runbooks/parameter-row", "get", signed_in(200), htmx=True),
    Case("/runbooks/<int:pk>/", "get", rb_view(200)),
    Case("/runbooks/<int:pk>/edit", "get", rb_edit(200)),
    Case("/runbooks/<int:pk>/edit", "post", rb_edit(to("/runbooks/{runbook}/")),
         body=lambda w, p: {"title": "Renamed", "description": "", "tags": "", **revision(w)}),
    Case("/runbooks/<int:pk>/run", "get", rb_run(200)),
    Case("/runbooks/<int:pk>/run", "post", rb_run(to("/executions/{new}/"))),
    Case("/runbooks/<int:pk>/archive", "get", rb_share(200)),
    Case("/runbooks/<int:pk>/archive", "post", rb_share(to("/runbooks/"))),
    Case("/runbooks/<int:pk>/share", "get", rb_share(200)),
    Case("/runbooks/<int:pk>/share/grant", "post", rb_share(to("/runbooks/{runbook}/share")),
         body={"principal_kind": "user", "name": "outsider", "role": "viewer"}),
    Case("/runbooks/<int:pk>/share/change", "post", rb_share(to("/runbooks/{runbook}/share")),
         body={"principal": "user:viewer", "role": "runner"}),
    Case("/runbooks/<int:pk>/blocks/new", "get", rb_edit(200), query="kind=instruction", htmx=True),
    Case("/runbooks/<int:pk>/blocks/", "post", rb_edit(to("/runbooks/{runbook}/#block-{new}")),
         body=lambda w, p: {"kind": "instruction", "prefix": PREFIX, f"{PREFIX}-key": "more",
                            f"{PREFIX}-title": "", f"{PREFIX}-markdown": "More.", f"{PREFIX}-gate": "none",
                            **revision(w)}),
    Case("/runbooks/<int:pk>/blocks/reorder", "post", rb_edit(200), htmx=True,
         body=lambda w, p: {"order": "restart,intro", **revision(w)}),
    Case("/runbooks/<int:pk>/blocks/<int:block_pk>/", "get", rb_view(200), htmx=True),
    Case("/runbooks/<int:pk>/blocks/<int:block_pk>/edit", "get", rb_edit(200)),
    Case("/runbooks/<int:pk>/blocks/<int:block_pk>/edit", "post", rb_edit(to("/runbooks/{runbook}/#block-{block}")),
         body=lambda w, p: edited_command(w)),
    Case("/runbooks/<int:pk>/blocks/<int:block_pk>/delete", "get", rb_edit(200)),
    Case("/runbooks/<int:pk>/blocks/<int:block_pk>/delete", "post", rb_edit(to("/runbooks/{runbook}/")),
         body=revision),
    Case("/runbooks/<int:pk>/blocks/<int:block_pk>/move", "post", rb_edit(to("/runbooks/{runbook}/#block-{block}")),
         body=lambda w, p: {"direction": "up", **revision(w)}),
    Case("/runbooks/<int:pk>/versions/", "get", rb_view(200)),
    Case("/runbooks/<int:pk>/versions/publish/", "post", rb_edit(to("/runbooks/{runbook}/versions/")),
         body=lambda w, p: {"message": "From the matrix", **revision(w)}),
    Case("/runbooks/<int:pk>/versions/<int:number>/", "get", rb_view(200)),
    Case("/runbooks/<int:pk>/versions/<int:number>/restore/", "get", rb_edit(200)),
    Case("/runbooks/<int:pk>/versions/<int:number>/restore/", "post", rb_edit(to("/runbooks/{runbook}/versions/")),
         body={"message": "Back to the first"}),
    Case("/runbooks/<int:pk>/diff/", "get", rb_view(200)),
    Case("/runbooks/<int:pk>/history/", "get", rb_view(200)),
]  # fmt: skip

CREDENTIALS = [
    Case("/credentials/", "get", signed_in(200)),
    Case("/credentials/new/", "get", signed_in(200)),
    Case("/credentials/new/", "post", signed_in(to("/credentials/{new}/")),
         body={"name": "new-token", "kind": "token", "secret": "new-secret-value"}),
    Case("/credentials/<int:pk>/", "get", cred_use(200)),
    Case("/credentials/<int:pk>/edit/", "get", cred_owner(200)),
    Case("/credentials/<int:pk>/edit/", "post", cred_owner(to("/credentials/{credential}/")),
         body={"name": "deploy-token", "kind": "token", "description": "Changed"}),
    Case("/credentials/<int:pk>/delete/", "get", cred_owner(200), on={"pk": "spare_credential"}),
    Case("/credentials/<int:pk>/delete/", "post", cred_owner(to("/credentials/")), on={"pk": "spare_credential"}),
    Case("/credentials/<int:pk>/share/", "get", cred_owner(200)),
    Case("/credentials/<int:pk>/share/", "post", cred_owner(to("/credentials/{credential}/share/")),
         body={"principal": "user:viewer", "role": "user"}),
    Case("/credentials/<int:pk>/usage/<int:runbook_id>/revoke/", "get", cred_owner(200)),
    Case("/credentials/<int:pk>/usage/<int:runbook_id>/revoke/", "post", cred_owner(to("/credentials/{credential}/"))),
    Case("/credentials/<int:pk>/usage/<int:runbook_id>/restore/", "post", cred_owner(to("/credentials/{credential}/")),
         on={"runbook_id": "revoked"}),
]  # fmt: skip

RUNS = [
    Case("/executions/", "get", signed_in(200)),
    Case("/executions/<int:pk>/", "get", rb_view(200)),
    Case("/executions/<int:pk>/cancel", "get", rb_run(200), on={"pk": "queued"}),
    Case("/executions/<int:pk>/cancel", "post", rb_run(to("/executions/{queued}/")), on={"pk": "queued"}),
    Case("/executions/<int:pk>/decide", "post", rb_run(to("/executions/{waiting}/")), on={"pk": "waiting"},
         body={"step": "intro", "decision": "continue"}),
    Case("/executions/<int:pk>/skip-timer", "post", rb_run(to("/executions/{timer}/")), on={"pk": "timer"},
         body={"step": "intro"}),
    Case("/executions/<int:pk>/retry", "post", rb_run(to("/executions/{new}/")), on={"pk": "failed"},
         body={"from": "restart"}),
    Case("/executions/<int:pk>/steps/<int:step_pk>/output", "get", rb_view(200)),
    Case("/executions/<int:pk>/steps/<int:step_pk>/output.txt", "get", rb_view(200)),
    Case("/environments/", "get", signed_in(200)),
    Case("/environments/new", "get", staff_only(200)),
    Case("/environments/new", "post", staff_only(to("/environments/{new}/")), body={"name": "new-env", "image": IMAGE}),
    Case("/environments/<int:pk>/", "get", signed_in(200)),
    Case("/environments/<int:pk>/edit", "get", staff_only(200), on={"pk": "spare"}),
    Case("/environments/<int:pk>/edit", "post", staff_only(to("/environments/{spare}/")), on={"pk": "spare"},
         body={"name": "spare", "dockerfile": "FROM scratch\nLABEL edited=1\n"}),
    Case("/environments/<int:pk>/delete", "get", staff_only(200), on={"pk": "spare"}),
    Case("/environments/<int:pk>/delete", "post", staff_only(to("/environments/")), on={"pk": "spare"}),
    Case("/environments/<int:pk>/rebuild", "post", staff_only(to("/environments/{spare}/")), on={"pk": "spare"}),
]  # fmt: skip

AUTOMATION = [
    # A hook authenticates by its secret alone: without it everyone gets the same 401.
    Case("/hooks/<str:uuid>/", "post", {person: 401 for person in grid(401)}, body={}, writes=False),
    Case("/runbooks/<int:pk>/triggers/", "get", rb_edit(200)),
    Case("/runbooks/<int:pk>/triggers/", "post", rb_edit(201),
         body={"name": "new-hook", "kind": "alertmanager", "action": "run", "per": "alert"}),
    Case("/automation/triggers/<int:pk>/", "get", rb_edit(200)),
    Case("/automation/triggers/<int:pk>/rotate", "post", rb_edit(200)),
    Case("/automation/triggers/<int:pk>/toggle", "post", rb_edit(to("/automation/triggers/{trigger}/"))),
    Case("/automation/triggers/<int:pk>/delete", "get", rb_edit(200)),
    Case("/automation/triggers/<int:pk>/delete", "post", rb_edit(to("/runbooks/{runbook}/triggers/"))),
    Case("/automation/proposals/<int:pk>/", "get", rb_view(200)),
    Case("/automation/proposals/<int:pk>/start", "post", rb_run(to("/executions/{new}/"))),
    Case("/automation/proposals/<int:pk>/dismiss", "post", rb_run(to("/automation/proposals/{proposal}/"))),
    Case("/runbooks/<int:pk>/schedules/", "get", rb_edit(200)),
    Case("/runbooks/<int:pk>/schedules/", "post", rb_edit(to("/runbooks/{runbook}/schedules/")),
         body={"cron": "0 4 * * *", "timezone": "UTC"}),
    Case("/automation/schedules/<int:pk>/toggle", "post", rb_edit(to("/runbooks/{runbook}/schedules/"))),
    Case("/automation/schedules/<int:pk>/delete", "post", rb_edit(to("/runbooks/{runbook}/schedules/"))),
    Case("/runbooks/<int:pk>/notifications/", "get", rb_edit(200)),
    Case("/runbooks/<int:pk>/notifications/", "post", rb_edit(to("/runbooks/{runbook}/notifications/")),
         body={"events": ["succeeded"], "channel": "email", "target": "runner"}),
    Case("/automation/notifications/<int:pk>/delete", "post", rb_edit(to("/runbooks/{runbook}/notifications/"))),
]  # fmt: skip

PAGES = [*ACCOUNTS, *RUNBOOKS, *CREDENTIALS, *RUNS, *AUTOMATION]
