from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.health import check_database, check_redis, check_workers_docker


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and Redis answer and a live worker reaches the Docker engine; 503
    naming what is down. The web process has no Docker socket: the workers' heartbeats say.

    Error details are the exception class only: connection strings may hold passwords.
    """
    checks = {"database": check_database(), "redis": check_redis()}
    # The heartbeats are in Redis: without it the workers' view of Docker is unknown, not down.
    checks["docker"] = check_workers_docker() if checks["redis"] is None else None
    body = {name: ("ok" if problem is None else f"down ({problem})") for name, problem in checks.items()}
    if checks["redis"] is not None:
        body["docker"] = "unknown (the workers report through Redis)"
    healthy = all(problem is None for problem in checks.values())
    body["status"] = "ok" if healthy else "degraded"
    if not healthy:
        body["problems"] = [f"{name}: {problem}" for name, problem in checks.items() if problem is not None]
    return JsonResponse(body, status=200 if healthy else 503)
