from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("gongzhi.core.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("registry/", include("gongzhi.registry.urls")),
    path("organizations/", include("gongzhi.organizations.urls")),
    path("api/", include("gongzhi.api_urls")),
    path("admin/", admin.site.urls),
]
