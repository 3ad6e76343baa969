from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.health import check_database, check_redis
from apps.sandbox.client import check_docker


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, Redis and the Docker engine all answer; 503 naming what is down.

    Error details are the exception class only: connection strings may hold passwords.
    """
    checks = {"database": check_database(), "redis": check_redis(), "docker": check_docker()}
    body = {name: ("ok" if problem is None else f"down ({problem})") for name, problem in checks.items()}
    healthy = all(problem is None for problem in checks.values())
    body["status"] = "ok" if healthy else "degraded"
    return JsonResponse(body, status=200 if healthy else 503)
