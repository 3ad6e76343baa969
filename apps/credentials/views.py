"""Credential pages. Every one goes through credential_for_user; none ever shows a secret."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.errors import InvalidInput
from apps.core.sharing import Sharing, sharing_page, sharing_post
from apps.credentials import roles, services
from apps.credentials.forms import CredentialForm
from apps.credentials.selectors import (
    credential_for_user,
    credential_role_of,
    credential_roles_for,
    credentials_visible_to,
)
from apps.credentials.services import CredentialInUse
from apps.credentials.usage import usage_provider


def _add_errors(form, error: InvalidInput) -> None:
    for field, problems in error.errors.items():
        target = field if field in form.fields else None
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(target, str(problem))


@login_required
@require_GET
def credential_list(request: HttpRequest) -> HttpResponse:
    credentials = list(credentials_visible_to(request.user))
    role_by_pk = credential_roles_for(request.user, credentials)
    rows = [(credential, role_by_pk.get(credential.pk)) for credential in credentials]
    return render(request, "credentials/list.html", {"rows": rows, "nav": "credentials"})


@login_required
@sensitive_post_parameters("secret")
@require_http_methods(["GET", "POST"])
def credential_create(request: HttpRequest) -> HttpResponse:
    form = CredentialForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            credential = services.credential_create(user=request.user, **form.cleaned_data)
        except InvalidInput as error:
            # The form again, each error next to its field.
            _add_errors(form, error)
        else:
            messages.success(request, f"Credential “{credential.name}” saved. Its secret cannot be shown again.")
            return redirect("credentials:detail", pk=credential.pk)
    return render(request, "credentials/form.html", {"form": form, "credential": None, "nav": "credentials"})


@login_required
@require_GET
def credential_detail(request: HttpRequest, pk: int) -> HttpResponse:
    credential = credential_for_user(request.user, pk)
    context = {
        "credential": credential,
        "role": credential_role_of(request.user, credential),
        "usage": usage_provider().usage(credential=credential, user=request.user),
        "may_revoke": request.user.has_perm(roles.SHARE, credential),
        "nav": "credentials",
    }
    return render(request, "credentials/detail.html", context)


@login_required
@sensitive_post_parameters("secret")
@require_http_methods(["GET", "POST"])
def credential_edit(request: HttpRequest, pk: int) -> HttpResponse:
    credential = credential_for_user(request.user, pk, roles.CHANGE)
    initial = {
        field: getattr(credential, field) for field in ("name", "kind", "username", "header_name", "description")
    }
    form = CredentialForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.credential_update(credential=credential, user=request.user, **form.cleaned_data)
        except InvalidInput as error:
            # The form again, each error next to its field.
            _add_errors(form, error)
        else:
            messages.success(request, "Credential saved.")
            return redirect("credentials:detail", pk=credential.pk)
    return render(request, "credentials/form.html", {"form": form, "credential": credential, "nav": "credentials"})


@login_required
@require_http_methods(["GET", "POST"])
def credential_delete(request: HttpRequest, pk: int) -> HttpResponse:
    credential = credential_for_user(request.user, pk, roles.DELETE)
    refusal = None
    in_use = bool(usage_provider().drafts_using(credential))
    if request.method == "POST":
        try:
            services.credential_delete(credential=credential, user=request.user)
        except CredentialInUse as error:
            # The confirmation page again, listing the runbooks that still use it (409 below).
            refusal, in_use = str(error), True
        else:
            messages.success(request, f"Credential “{credential.name}” deleted.")
            return redirect("credentials:list")
    status = 409 if refusal else 200
    context = {
        "credential": credential,
        "in_use": in_use,
        "usage": usage_provider().usage(credential=credential, user=request.user),
        "may_revoke": False,
        "refusal": refusal,
        "nav": "credentials",
    }
    return render(request, "credentials/delete.html", context, status=status)


def _sharing(request: HttpRequest, credential) -> Sharing:
    url = reverse("credentials:share", args=[credential.pk])
    return Sharing(
        obj=credential,
        scheme=roles.ROLES,
        roles=roles.Role.choices,
        grant=lambda principal, role: services.credential_grant(
            credential=credential, actor=request.user, principal=principal, role=role
        ),
        dom_id="credential-access",
        grant_url=url,
        change_url=url,
        page_url=url,
        page_template="credentials/share.html",
        context={"credential": credential},
        page_context=lambda: {"nav": "credentials"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def credential_share(request: HttpRequest, pk: int) -> HttpResponse:
    credential = credential_for_user(request.user, pk, roles.SHARE)
    if request.method == "POST":
        return sharing_post(request, _sharing(request, credential))
    return sharing_page(request, _sharing(request, credential))


@login_required
@require_http_methods(["GET", "POST"])
def credential_usage_revoke(request: HttpRequest, pk: int, runbook_id: int) -> HttpResponse:
    """Confirm, then take back a runbook's use of the credential (owners only)."""
    credential = credential_for_user(request.user, pk, roles.SHARE)
    if request.method == "POST":
        usage_provider().revoke(credential=credential, runbook_id=runbook_id, user=request.user)
        messages.success(
            request, f"Runbook #{runbook_id} can no longer use “{credential.name}”: its steps that need it will fail."
        )
        return redirect("credentials:detail", pk=credential.pk)
    found = usage_provider().usage(credential=credential, user=request.user)
    use = next((use for use in [*found.visible, *found.hidden] if use.runbook_id == runbook_id), None)
    if use is None:
        raise Http404("No such runbook uses this credential.")
    context = {"credential": credential, "use": use, "nav": "credentials"}
    return render(request, "credentials/revoke_confirm.html", context)


@login_required
@require_POST
def credential_usage_restore(request: HttpRequest, pk: int, runbook_id: int) -> HttpResponse:
    credential = credential_for_user(request.user, pk, roles.SHARE)
    usage_provider().restore(credential=credential, runbook_id=runbook_id, user=request.user)
    messages.success(request, f"Runbook #{runbook_id} may use “{credential.name}” again.")
    return redirect("credentials:detail", pk=credential.pk)
