from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def runbook_list(request) -> HttpResponse:
    return HttpResponse("placeholder")
