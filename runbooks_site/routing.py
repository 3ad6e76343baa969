"""WebSocket routes (asgi.py wraps them in AllowedHostsOriginValidator(AuthMiddlewareStack(...)))."""

from django.urls import path

from apps.executions.consumers import ExecutionConsumer

websocket_urlpatterns = [
    path("ws/executions/<int:pk>/", ExecutionConsumer.as_asgi()),
]
