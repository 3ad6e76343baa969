"""Environment pages: every signed-in user may look; staff create, change, rebuild and delete."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.errors import InvalidInput
from apps.environments import selectors, services
from apps.environments.forms import EnvironmentForm


def _add_errors(form: EnvironmentForm, error: InvalidInput) -> None:
    for field, problems in error.errors.items():
        target = field if field in form.fields else None
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(target, str(problem))


def _page(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {"nav": "environments", **context}, status=status)


@login_required
@require_GET
def environment_list(request: HttpRequest) -> HttpResponse:
    environments = selectors.environments_visible_to(request.user)
    return _page(request, "environments/list.html", {"environments": environments})


@login_required
@require_http_methods(["GET", "POST"])
def environment_create(request: HttpRequest) -> HttpResponse:
    selectors.environment_manage_check(request.user)
    form = EnvironmentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                environment = services.environment_create(user=request.user, data=form.service_input())
            except InvalidInput as error:
                _add_errors(form, error)
            else:
                messages.success(request, f"Environment “{environment.name}” created.")
                return redirect("environments:detail", pk=environment.pk)
        status = 400
    return _page(request, "environments/form.html", {"form": form, "environment": None}, status)


@login_required
@require_GET
def environment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    environment = selectors.environment_for_user(request.user, pk)
    context = {"environment": environment, "used_by": selectors.environment_users(environment)}
    if request.htmx and request.htmx.target == f"build-{environment.pk}":
        return render(request, "environments/_build.html", context)
    return _page(request, "environments/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def environment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    environment = selectors.environment_for_user(request.user, pk, manage=True)
    status = 200
    if request.method == "POST":
        form = EnvironmentForm(request.POST)
        if form.is_valid():
            try:
                services.environment_update(environment=environment, user=request.user, data=form.service_input())
            except InvalidInput as error:
                _add_errors(form, error)
            else:
                messages.success(request, "Saved.")
                return redirect("environments:detail", pk=environment.pk)
        # The failed save may have set fields on the instance; show the stored row's name.
        environment.refresh_from_db()
        status = 400
    else:
        form = EnvironmentForm(initial=EnvironmentForm.initial_for(environment))
    return _page(request, "environments/form.html", {"form": form, "environment": environment}, status)


@login_required
@require_http_methods(["GET", "POST"])
def environment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    environment = selectors.environment_for_user(request.user, pk, manage=True)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            services.environment_delete(environment=environment, user=request.user)
        except InvalidInput as error:
            errors = [str(message) for messages_ in error.errors.values() for message in messages_]
            status = 400
        else:
            messages.success(request, f"Deleted environment “{environment.name}”.")
            return redirect("environments:list")
    context = {"environment": environment, "used_by": selectors.environment_users(environment), "errors": errors}
    return _page(request, "environments/delete.html", context, status)


@login_required
@require_POST
def environment_rebuild(request: HttpRequest, pk: int) -> HttpResponse:
    environment = selectors.environment_for_user(request.user, pk, manage=True)
    refusal = ""
    try:
        services.environment_build_request(environment=environment, user=request.user)
    except InvalidInput as error:
        refusal = " ".join(str(message) for value in error.errors.values() for message in value)
    if request.htmx:
        # The section replaces itself, so the refusal is said inside it (a flash message would
        # only show on the next full page).
        context = {"environment": environment, "used_by": [], "build_error": refusal}
        return render(request, "environments/_build.html", context, status=400 if refusal else 200)
    if refusal:
        messages.error(request, refusal)
    else:
        messages.success(request, "Build queued; this page shows its progress.")
    return redirect("environments:detail", pk=environment.pk)
