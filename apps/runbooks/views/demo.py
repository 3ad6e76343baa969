"""The first screen's "Load the demo runbooks" button: staff only, a thin caller of demo_seed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.runbooks.demo import ADMIN_USERNAME, DEMO_RUNBOOKS, TEAM_NAME, demo_accounts_at_risk, demo_seed
from apps.runbooks.selectors import runbooks_visible_to


@login_required
@require_POST
def load_demo(request: HttpRequest) -> HttpResponse:
    # It creates users and a group, so it is an administrator's act; a 403, never a login redirect.
    if not request.user.is_staff:
        raise PermissionDenied("Only staff may load the demo runbooks.")
    at_risk = demo_accounts_at_risk()
    if at_risk:
        names = " and ".join(at_risk)
        messages.error(
            request,
            f"Not loaded: the demo would give the existing account {names} a new password. "
            "Create your first runbook instead, or load the demo on a fresh install.",
        )
        return redirect("runbooks:list")
    result = demo_seed()
    titles = [spec["title"] for spec in DEMO_RUNBOOKS]
    if result.changed:
        messages.success(
            request,
            f"Loaded the demo: {len(titles)} runbooks owned by {ADMIN_USERNAME} that the {TEAM_NAME} group may run.",
        )
    else:
        messages.info(request, "The demo runbooks were already loaded; nothing changed.")
    # demo_seed gives the runbooks to the demo admin and its team: other staff must be shared in.
    if not runbooks_visible_to(request.user).filter(title__in=titles).exists():
        messages.warning(
            request,
            f"You cannot see them yet: they belong to {ADMIN_USERNAME}. "
            f"Sign in as {ADMIN_USERNAME} or ask for them to be shared with you.",
        )
    return redirect("runbooks:list")
