"""One sharing UI for every kind of object with roles (runbooks, credentials), over core.object_roles:
the grants with a role select and a revoke button each, and a grant form (user or group, name, role).

Each kind's views check access first with their own helper (owners may share, outsiders get 404,
weaker roles 403), then hand a Sharing to these functions; the kind's grant service keeps its rules
(one owner kept, the audit). The partial is templates/core/_sharing.html.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from apps.core.errors import InvalidInput
from apps.core.object_roles import RoleScheme, parse_principal

PRINCIPAL_KINDS = [("user", "User"), ("group", "Group")]
# The page's name suggestions (datalists); more than this and people type the name anyway.
SUGGESTIONS = 500


class GrantForm(forms.Form):
    principal_kind = forms.ChoiceField(choices=PRINCIPAL_KINDS, label="Grant to")
    name = forms.CharField(label="Name", help_text="A username or group name.")
    role = forms.ChoiceField()

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = roles
        self.fields["role"].initial = roles[0][0]

    def principal(self) -> str:
        return f"{self.cleaned_data['principal_kind']}:{self.cleaned_data['name'].strip()}"


@dataclass(frozen=True)
class Sharing:
    """One object's sharing, as its kind's views describe it."""

    obj: object
    scheme: RoleScheme
    roles: list[tuple[str, str]]  # the role select's choices, lowest first
    grant: Callable[[object, str | None], None]  # the kind's grant service: (principal, role or None)
    dom_id: str  # the partial's id, the target of its htmx swaps
    grant_url: str
    change_url: str
    page_url: str  # where a form posted without htmx comes back to
    page_template: str  # the kind's full page; it includes core/_sharing.html
    context: dict = field(default_factory=dict)  # e.g. {"runbook": runbook}, for the page and the partial
    page_context: Callable[[], dict] = dict  # what only the full page needs (tabs, navigation)


def sharing_page(
    request: HttpRequest,
    sharing: Sharing,
    *,
    status: int = 200,
    grant_form: GrantForm | None = None,
    grant_errors: dict | None = None,
    row_errors: dict | None = None,
    message: str = "",
) -> HttpResponse:
    """The partial on an htmx request, else the kind's page around it."""
    entries = sharing.scheme.access_entries(sharing.obj)
    row_errors = row_errors or {}
    listed = {entry["principal"] for entry in entries}
    context = {
        **sharing.context,
        "sharing": sharing,
        "entries": entries,
        "grant_form": grant_form or GrantForm(roles=sharing.roles),
        "grant_errors": grant_errors or {},
        "row_errors": row_errors,
        # A change to a principal with no row (revoked meanwhile, or a hand-made request) still says why.
        "unlisted_errors": [
            problem for label, problems in row_errors.items() if label not in listed for problem in problems
        ],
        "message": message,
    }
    if request.htmx:
        return render(request, "core/_sharing.html", context, status=status)
    User = get_user_model()
    context.update(
        {
            "users": User.objects.filter(is_active=True).order_by(User.USERNAME_FIELD)[:SUGGESTIONS],
            "groups": Group.objects.order_by("name")[:SUGGESTIONS],
            **sharing.page_context(),
        }
    )
    return render(request, sharing.page_template, context, status=status)


def _done(request: HttpRequest, sharing: Sharing, message: str) -> HttpResponse:
    if request.htmx:
        return sharing_page(request, sharing, message=message)
    messages.success(request, message)
    return HttpResponseRedirect(sharing.page_url)


def sharing_grant(request: HttpRequest, sharing: Sharing) -> HttpResponse:
    """The grant form: principal_kind, name, role."""
    form = GrantForm(data=request.POST, roles=sharing.roles)
    valid = form.is_valid()
    errors = {name: list(problems) for name, problems in form.errors.items()}
    principal = None
    if "principal_kind" in form.cleaned_data and form.cleaned_data.get("name", "").strip():
        # Looked up even when the role is wrong, so an unknown name is not reported only later.
        try:
            principal = parse_principal(form.principal())
        except InvalidInput as error:
            errors.setdefault("name", []).extend(message for value in error.errors.values() for message in value)
    if not valid or principal is None:
        return sharing_page(request, sharing, status=400, grant_form=form, grant_errors=errors)
    try:
        sharing.grant(principal, form.cleaned_data["role"])
    except InvalidInput as error:
        errors = {("name" if name == "principal" else name): value for name, value in error.errors.items()}
        return sharing_page(request, sharing, status=400, grant_form=form, grant_errors=errors)
    return _done(request, sharing, f"{form.principal()} is now {form.cleaned_data['role']}.")


def sharing_change(request: HttpRequest, sharing: Sharing) -> HttpResponse:
    """One grant's row: principal and its new role; role "" (the Revoke button) revokes every role."""
    label = request.POST.get("principal", "")
    role = request.POST.get("role") or None
    try:
        sharing.grant(parse_principal(label), role)
    except InvalidInput as error:
        problems = [message for messages_ in error.errors.values() for message in messages_]
        return sharing_page(request, sharing, status=400, row_errors={label: problems})
    return _done(request, sharing, f"Revoked every role of {label}." if role is None else f"{label} is now {role}.")


def sharing_post(request: HttpRequest, sharing: Sharing) -> HttpResponse:
    """Both forms on one URL (a kind whose grant and change share it): told apart by their fields."""
    if "principal_kind" in request.POST or "name" in request.POST:
        return sharing_grant(request, sharing)
    return sharing_change(request, sharing)
