"""Versions, diffs, rollback and the History tab (the versions issue fills these in)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from apps.runbooks.selectors import runbook_for_user


@login_required
def version_list(request: HttpRequest, pk: int) -> HttpResponse:
    runbook_for_user(request.user, pk)
    return HttpResponse("Versions are not built yet.", status=501)


@login_required
def history(request: HttpRequest, pk: int) -> HttpResponse:
    runbook_for_user(request.user, pk)
    return HttpResponse("History is not built yet.", status=501)
