from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("gongzhi.core.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("registry/", include("gongzhi.registry.urls")),
    path("organizations/", include("gongzhi.organizations.urls")),
    path("deliberation/", include("gongzhi.deliberation.urls")),
    path("voting/", include("gongzhi.voting.urls")),
    path("notices/", include("gongzhi.notices.urls")),
    path("bulky/", include("gongzhi.bulkywaste.urls")),
    path("renovation/", include("gongzhi.renovation.urls")),
    path("surveys/", include("gongzhi.surveys.urls")),
    path("service/", include("gongzhi.servicedesk.urls")),
    path("open311/v2/", include("gongzhi.servicedesk.open311_urls")),
    path("api/", include("gongzhi.api_urls")),
    path("admin/", admin.site.urls),
]

handler404 = "gongzhi.core.views.not_found"
