app_name = "environments"
urlpatterns: list = []
