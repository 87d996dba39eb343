"""/open311/v2/ — Open311 GeoReport v2 (see gongzhi.servicedesk.open311)."""

from django.urls import path, re_path

from gongzhi.servicedesk import open311

app_name = "open311"

FMT = r"\.(?P<fmt>xml|json)$"

urlpatterns = [
    path("", open311.not_found, name="root"),
    re_path(r"^discovery" + FMT, open311.discovery, name="discovery"),
    re_path(r"^services" + FMT, open311.services, name="services"),
    re_path(r"^services/(?P<code>[\w-]+)" + FMT, open311.service_definition, name="service"),
    re_path(r"^requests" + FMT, open311.requests_view, name="requests"),
    re_path(r"^requests/(?P<request_id>[\w-]+)" + FMT, open311.request_detail, name="request"),
    re_path(r"^tokens/(?P<token>[\w-]+)" + FMT, open311.token_view, name="token"),
    re_path(r"^(?P<rest>.*)$", open311.not_found, name="not_found"),
]
