"""The rows of every /api/v1/ route (each method its view serves) and of the API's schema pages."""

from .cases import (
    Case,
    Raw,
    api,
    cred_owner,
    cred_use,
    public,
    rb_edit,
    rb_run,
    rb_share,
    rb_view,
    signed_in,
    staff_only,
)
from .pages import IMAGE, exported


def full_access(world, person) -> list[dict]:
    """Everyone's role as it is, and the outsider let in as a viewer."""
    return [
        {"principal": "user:owner", "role": "owner"},
        {"principal": "user:editor", "role": "editor"},
        {"principal": "user:runner", "role": "runner"},
        {"principal": "user:viewer", "role": "viewer"},
        {"principal": "user:outsider", "role": "viewer"},
    ]


RUNBOOKS = [
    Case("/api/v1/runbooks/", "get", api(signed_in, 200)),
    Case("/api/v1/runbooks/", "post", api(signed_in, 201), body={"title": "Failover the database"}),
    Case("/api/v1/runbooks/<int:pk>/", "get", api(rb_view, 200)),
    Case("/api/v1/runbooks/<int:pk>/", "patch", api(rb_edit, 200),
         body=lambda w, p: {"title": "Renamed", "revision": w.revision()}),
    Case("/api/v1/runbooks/<int:pk>/", "delete", api(rb_share, 204)),
    Case("/api/v1/runbooks/<int:pk>/access/", "get", api(rb_share, 200)),
    Case("/api/v1/runbooks/<int:pk>/access/", "put", api(rb_share, 200), body=full_access),
    Case("/api/v1/runbooks/<int:pk>/versions/", "get", api(rb_view, 200)),
    Case("/api/v1/runbooks/<int:pk>/versions/", "post", api(rb_edit, 201), body={"message": "From the matrix"}),
    Case("/api/v1/runbooks/<int:pk>/versions/<int:number>/", "get", api(rb_view, 200)),
    Case("/api/v1/runbooks/<int:pk>/versions/<int:number>/rollback/", "post", api(rb_edit, 201),
         body={"message": "Back to the first"}),
    Case("/api/v1/runbooks/<int:pk>/export", "get", api(rb_view, 200)),
    Case("/api/v1/runbooks/import", "post", api(signed_in, 201), body=lambda w, p: Raw(exported(w))),
    Case("/api/v1/runbooks/<int:pk>/import", "put", api(rb_edit, 200), body=lambda w, p: Raw(exported(w)),
         query=lambda w: f"revision={w.revision()}"),
]  # fmt: skip

CREDENTIALS = [
    Case("/api/v1/credentials/", "get", api(signed_in, 200)),
    Case("/api/v1/credentials/", "post", api(signed_in, 201),
         body={"name": "new-token", "kind": "token", "secret": "new-secret-value"}),
    Case("/api/v1/credentials/<int:pk>/", "get", api(cred_use, 200)),
    Case("/api/v1/credentials/<int:pk>/", "patch", api(cred_owner, 200), body={"description": "Changed"}),
    Case("/api/v1/credentials/<int:pk>/", "delete", api(cred_owner, 204), on={"pk": "spare_credential"}),
    Case("/api/v1/credentials/<int:pk>/access/", "get", api(cred_owner, 200)),
    Case("/api/v1/credentials/<int:pk>/access/", "put", api(cred_owner, 200),
         body=lambda w, p: [{"principal": "user:owner", "role": "owner"}, {"principal": "user:viewer", "role": "user"}]),
    Case("/api/v1/credentials/<int:pk>/usage/", "get", api(cred_use, 200)),
    Case("/api/v1/credentials/<int:pk>/usage/<int:runbook_id>/", "delete", api(cred_owner, 204)),
    Case("/api/v1/credentials/<int:pk>/usage/<int:runbook_id>/", "put", api(cred_owner, 204),
         on={"runbook_id": "revoked"}),
    Case("/api/v1/audit/", "get", api(staff_only, 200)),
]  # fmt: skip

RUNS = [
    Case("/api/v1/runbooks/<int:pk>/executions/", "post", api(rb_run, 202), body={}),
    Case("/api/v1/executions/", "get", api(signed_in, 200)),
    Case("/api/v1/executions/<int:pk>/", "get", api(rb_view, 200)),
    Case("/api/v1/executions/<int:pk>/cancel/", "post", api(rb_run, 202), on={"pk": "queued"}),
    Case("/api/v1/executions/<int:pk>/steps/<str:key>/confirm/", "post", api(rb_run, 200), on={"pk": "waiting"},
         body={"decision": "continue"}),
    Case("/api/v1/executions/<int:pk>/retry/", "post", api(rb_run, 201), on={"pk": "failed"}, body={"from": "restart"}),
    Case("/api/v1/environments/", "get", api(signed_in, 200)),
    Case("/api/v1/environments/", "post", api(staff_only, 201), body={"name": "new-env", "image": IMAGE}),
    Case("/api/v1/environments/<int:pk>/", "get", api(signed_in, 200)),
    Case("/api/v1/environments/<int:pk>/", "patch", api(staff_only, 200), on={"pk": "spare"},
         body={"name": "renamed"}),
    Case("/api/v1/environments/<int:pk>/", "delete", api(staff_only, 204), on={"pk": "spare"}),
]  # fmt: skip

AUTOMATION = [
    Case("/api/v1/runbooks/<int:pk>/triggers/", "get", api(rb_edit, 200)),
    Case("/api/v1/runbooks/<int:pk>/triggers/", "post", api(rb_edit, 201), body={"name": "new-hook"}),
    Case("/api/v1/triggers/<int:pk>/", "get", api(rb_edit, 200)),
    Case("/api/v1/triggers/<int:pk>/", "patch", api(rb_edit, 200), body={"name": "renamed-hook"}),
    Case("/api/v1/triggers/<int:pk>/", "delete", api(rb_edit, 204)),
    Case("/api/v1/triggers/<int:pk>/rotate/", "post", api(rb_edit, 200)),
    Case("/api/v1/triggers/<int:pk>/deliveries/", "get", api(rb_edit, 200)),
    Case("/api/v1/runbooks/<int:pk>/schedules/", "get", api(rb_edit, 200)),
    Case("/api/v1/runbooks/<int:pk>/schedules/", "post", api(rb_edit, 201), body={"cron": "0 4 * * *"}),
    Case("/api/v1/schedules/<int:pk>/", "get", api(rb_edit, 200)),
    Case("/api/v1/schedules/<int:pk>/", "patch", api(rb_edit, 200), body={"cron": "0 5 * * *"}),
    Case("/api/v1/schedules/<int:pk>/", "delete", api(rb_edit, 204)),
    Case("/api/v1/runbooks/<int:pk>/notifications/", "get", api(rb_edit, 200)),
    Case("/api/v1/runbooks/<int:pk>/notifications/", "post", api(rb_edit, 201),
         body={"events": ["succeeded"], "channel": "email", "target": "runner"}),
    Case("/api/v1/notifications/<int:pk>/", "delete", api(rb_edit, 204)),
    # The schema describes routes, never data: public, like most APIs' OpenAPI documents.
    Case("/api/schema/", "get", public(200)),
    Case("/api/docs/", "get", public(200)),
]  # fmt: skip

API = [*RUNBOOKS, *CREDENTIALS, *RUNS, *AUTOMATION]
