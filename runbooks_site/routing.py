# WebSocket routes; the live-output issue adds /ws/executions/<id>/.
websocket_urlpatterns: list = []
