import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.forms import ApiTokenForm
from apps.accounts.selectors import api_token_for_user, api_tokens_of
from apps.accounts.services import api_token_create, api_token_revoke
from apps.core.errors import InvalidInput
from apps.core.pages import status_of


def lockout(request: HttpRequest, original_response: HttpResponse | None = None, credentials=None) -> HttpResponse:
    """django-axes' answer to a sign-in from a locked-out username or address (AXES_LOCKOUT_CALLABLE).

    429 with our page, on /accounts/login/ and /admin/login/ alike. Every refused attempt restarts
    the cool-off, so "try again in" is the whole cool-off from now.
    """
    minutes = max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    response = render(request, "accounts/lockout.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    # POST only: a GET logout link could be triggered by any page embedding it.
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("accounts:login")


def _tokens_context(request: HttpRequest, *, form: ApiTokenForm | None = None, new_token=None, new_value="") -> dict:
    return {
        "tokens": api_tokens_of(request.user),
        "form": form or ApiTokenForm(),
        "new_token": new_token,
        "new_value": new_value,
    }


def _render_tokens(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    """The token section alone for HTMX, the whole profile page otherwise."""
    if request.htmx:
        response = render(request, "accounts/_tokens.html", context, status=status)
    else:
        context |= {"nav": "profile", "groups": request.user.groups.order_by("name")}
        response = render(request, "accounts/profile.html", context, status=status)
    if context.get("new_value"):
        # The one response carrying a token value must not be kept by the browser or a proxy.
        add_never_cache_headers(response)
    return response


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    return _render_tokens(request, _tokens_context(request))


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    form.is_valid()
    try:
        token, value = api_token_create(user=request.user, name=form.cleaned_data.get("name", ""))
    except InvalidInput as error:
        # The token form again, each error next to its field.
        for field, problems in error.errors.items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
        return _render_tokens(request, _tokens_context(request, form=form), status=status_of(error))
    return _render_tokens(request, _tokens_context(request, new_token=token, new_value=value), status=201)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (the no-JS path); POST revokes. Another user's token is a 404."""
    token = api_token_for_user(request.user, pk)
    if request.method == "GET":
        return render(request, "accounts/token_revoke_confirm.html", {"token": token, "nav": "profile"})
    api_token_revoke(token=token, user=request.user)
    if request.htmx:
        return _render_tokens(request, _tokens_context(request))
    messages.success(request, f"The token “{token.name}” is revoked; requests using it are now refused.")
    return redirect("accounts:profile")
