"""The versioned JSON API: /api/v1/…, its OpenAPI document at /api/v1/schema/ and docs at /api/v1/docs/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from gongzhi.bulkywaste.api import register as register_bulkywaste
from gongzhi.core.api_routing import Router
from gongzhi.core.api_views import ApiDocsView, TokenView, UserTokenView
from gongzhi.deliberation.api import register as register_deliberation
from gongzhi.notices.api import register as register_notices
from gongzhi.organizations.api import register as register_organizations
from gongzhi.registry.api import register as register_registry
from gongzhi.renovation.api import register as register_renovation
from gongzhi.servicedesk.api import register as register_servicedesk
from gongzhi.surveys.api import register as register_surveys
from gongzhi.voting.api import register as register_voting

router = Router()
register_registry(router)
register_organizations(router)
register_deliberation(router)
register_voting(router)
register_notices(router)
register_bulkywaste(router)
register_renovation(router)
register_surveys(router)
register_servicedesk(router)

urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/token/", TokenView.as_view(), name="api-token"),
    path("v1/users/<int:pk>/token/", UserTokenView.as_view(), name="api-user-token"),
    path("v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("v1/docs/", ApiDocsView.as_view(), name="api-docs"),
]
