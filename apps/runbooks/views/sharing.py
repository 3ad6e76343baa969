"""A runbook's Share tab: who holds which role, grant, change and revoke (owners only).

One sharing UI for runbooks and credentials: apps.core.sharing, given this runbook's roles.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.core.sharing import Sharing, sharing_change, sharing_grant, sharing_page
from apps.runbooks.roles import ROLES, SHARE, Role
from apps.runbooks.selectors import runbook_for_user, runbook_permissions
from apps.runbooks.services import access as access_services


def _sharing(request: HttpRequest, runbook) -> Sharing:
    return Sharing(
        obj=runbook,
        scheme=ROLES,
        roles=Role.choices,
        grant=lambda principal, role: access_services.runbook_grant(
            runbook=runbook, actor=request.user, principal=principal, role=role
        ),
        dom_id="access",
        grant_url=reverse("runbooks:share_grant", args=[runbook.pk]),
        change_url=reverse("runbooks:share_change", args=[runbook.pk]),
        page_url=reverse("runbooks:share", args=[runbook.pk]),
        page_template="runbooks/share.html",
        context={"runbook": runbook},
        page_context=lambda: {"tab": "share", "nav": "runbooks", **runbook_permissions(request.user, runbook)},
    )


@login_required
@require_GET
def runbook_share(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, SHARE)
    return sharing_page(request, _sharing(request, runbook))


@login_required
@require_POST
def share_grant(request: HttpRequest, pk: int) -> HttpResponse:
    runbook = runbook_for_user(request.user, pk, SHARE)
    return sharing_grant(request, _sharing(request, runbook))


@login_required
@require_POST
def share_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Change one grant's role, or revoke it (the Revoke button posts role="")."""
    runbook = runbook_for_user(request.user, pk, SHARE)
    return sharing_change(request, _sharing(request, runbook))
