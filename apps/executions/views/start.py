"""The Run form of a runbook (/runbooks/<pk>/run) and the Run controls on the runbook's page.

A runbook page that offers runs belongs to this layer: runbooks cannot import executions, so
the page's Run controls come from `runbook_run_context`, registered in ExecutionsConfig.ready().
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.core.errors import InvalidInput, ServiceUnavailable
from apps.core.pages import status_of
from apps.executions.run_controls import (
    BLOCK_FIELD,
    DRAFT,
    PARAM_PREFIX,
    VERSION_FIELD,
    parameters_for,
    run_controls_for,
)
from apps.executions.services.start import execution_start
from apps.runbooks.models import Runbook
from apps.runbooks.roles import RUN
from apps.runbooks.selectors import runbook_for_user


def runbook_run_context(user, runbook: Runbook) -> dict:
    """The runbook page's Run controls (templates/runbooks/_run_controls.html)."""
    return {"run": run_controls_for(user, runbook)}


def _run_errors(error: InvalidInput) -> tuple[dict, list[str]]:
    """(errors per parameter name, errors for the whole run) from execution_start's field errors."""
    by_parameter: dict = {}
    general: list[str] = []
    for field, problems in error.errors.items():
        if field == "params" and isinstance(problems, dict):
            for name, messages_ in problems.items():
                if name == "non_field_errors":
                    general.extend(str(message) for message in messages_)
                else:
                    by_parameter[name] = [str(message) for message in messages_]
        else:
            general.extend(str(message) for message in (problems if isinstance(problems, list) else [problems]))
    return by_parameter, general


@login_required
@require_http_methods(["GET", "POST"])
def runbook_run(request: HttpRequest, pk: int) -> HttpResponse:
    """The parameters form of a run. GET only shows it (pre-filled from ?NAME=value deep links from
    alerts) and never runs anything; POST starts the run and leads to the execution page."""
    runbook = runbook_for_user(request.user, pk, RUN)
    run = run_controls_for(request.user, runbook)
    data = request.POST if request.method == "POST" else request.GET
    version = data.get(VERSION_FIELD, run.default_version)
    if version not in (choice for choice, _ in run.choices):
        version = run.default_version
    block = data.get(BLOCK_FIELD, "")
    parameters = parameters_for(runbook, run, version)
    if request.method == "POST":
        values = {
            key[len(PARAM_PREFIX) :]: value for key, value in request.POST.items() if key.startswith(PARAM_PREFIX)
        }
    else:
        values = {
            parameter["name"]: request.GET[parameter["name"]]
            for parameter in parameters
            if parameter["name"] in request.GET
        }
    param_errors: dict = {}
    errors: list[str] = []
    status = 200
    if request.method == "POST" and not run.enabled:
        errors, status = [run.disabled_reason], 400
    elif request.method == "POST":
        try:
            execution = execution_start(
                runbook=runbook,
                user=request.user,
                params=values,
                block=block or None,
                version=DRAFT if version == DRAFT else None,
            )
        except InvalidInput as error:
            # The form again, each problem next to its parameter.
            (param_errors, errors), status = _run_errors(error), status_of(error)
        except ServiceUnavailable as error:
            # The form again, still filled in, to start once Redis is back.
            errors, status = [str(error)], status_of(error)
        else:
            return redirect("executions:detail", pk=execution.pk)
    known = {parameter["name"] for parameter in parameters}
    errors += [f"{name}: {' '.join(problems)}" for name, problems in param_errors.items() if name not in known]
    fields = [
        {
            **parameter,
            "value": values.get(parameter["name"], parameter.get("default") or ""),
            "errors": param_errors.get(parameter["name"], []),
        }
        for parameter in parameters
    ]
    context = {
        "runbook": runbook,
        "run": run,
        "version": version,
        # Not "block": inside {% block %} tags Django's context names the template block that way.
        "block_key": block,
        "fields": fields,
        "errors": errors,
        "nav": "runbooks",
        "block_field": BLOCK_FIELD,
        "version_field": VERSION_FIELD,
        "param_prefix": PARAM_PREFIX,
    }
    return render(request, "runbooks/run.html", context, status=status)
