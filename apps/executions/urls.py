app_name = "executions"
urlpatterns: list = []
