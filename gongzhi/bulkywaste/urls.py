app_name = "bulkywaste"
urlpatterns: list = []
