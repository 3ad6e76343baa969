"""`POST /hooks/<uuid>/`: where Alertmanager, Grafana, PagerDuty or any sender delivers.

A plain Django view on purpose: outside session auth and CSRF (the sender has neither), with its own
body limit read from the stream (never more than the limit in memory), and every answer JSON.
"""

from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.automation.deliveries import REFUSED, hook_deliver
from apps.core.parsers import read_limited

MAX_HOOK_BYTES = getattr(settings, "RUNBOOKS_HOOK_MAX_BYTES", 1024 * 1024)


def _absolute(request: HttpRequest, refs: list[dict]) -> list[dict]:
    return [{**ref, "url": request.build_absolute_uri(ref["url"])} for ref in refs]


def _refused() -> JsonResponse:
    response = JsonResponse(REFUSED.body, status=REFUSED.status)
    response["WWW-Authenticate"] = "Bearer"
    return response


@csrf_exempt
@require_POST
def hook(request: HttpRequest, uuid) -> JsonResponse:
    # Read from the stream, not request.body, so a lying or missing Content-Length cannot make us hold more.
    body = read_limited(request, request.META.get("CONTENT_LENGTH"), MAX_HOOK_BYTES)
    if body is None:
        return JsonResponse({"detail": f"The body is over {MAX_HOOK_BYTES:,} bytes."}, status=413)
    try:
        # Any text is routed here, so a malformed id gets the very same 404 as an unknown one.
        trigger_uuid = str(UUID(uuid))
    except ValueError:
        return _refused()
    answer = hook_deliver(
        uuid=trigger_uuid, headers=request.headers, body=body, source=request.META.get("REMOTE_ADDR", "")
    )
    if answer is REFUSED:
        return _refused()
    data = dict(answer.body)
    for name in ("executions", "proposals"):
        if name in data:
            data[name] = _absolute(request, data[name])
    return JsonResponse(data, status=answer.status)
