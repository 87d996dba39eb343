"""Notices JSON API: published notices, readable without sign-in (masked names only), paged by key."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.reverse import reverse

from gongzhi.core.api import KeyCursorPagination, error_responses
from gongzhi.core.gate import GatePermission
from gongzhi.notices.models import Notice


class NoticeSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    area = serializers.CharField(source="node.name", read_only=True)
    pdf_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()

    class Meta:
        model = Notice
        fields = [
            "id",
            "reference",
            "kind",
            "title",
            "body",
            "area",
            "issuer",
            "posted_on",
            "period_days",
            "period_start",
            "period_end",
            "meeting_on",
            "matter",
            "vote_id",
            "page_url",
            "pdf_url",
        ]

    def get_pdf_url(self, obj) -> str:
        return reverse("notices:pdf", args=[obj.pk], request=self.context.get("request"))

    def get_page_url(self, obj) -> str:
        return reverse("notices:detail", args=[obj.pk], request=self.context.get("request"))


@extend_schema_view(
    # Public: no sign-in needed, but an invalid token is still refused (401); 403 is listed per house rule.
    list=extend_schema(responses={200: NoticeSerializer(many=True), **error_responses(400, 401, 403)}),
    retrieve=extend_schema(responses={200: NoticeSerializer, **error_responses(401, 403, 404)}),
)
class NoticeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """公示 — published notices, newest first by key."""

    permission_classes = [GatePermission, permissions.AllowAny]  # AllowAny: the OpenAPI document says "public"
    gate_perms = {"list": None, "retrieve": None}  # public: the queryset holds published notices only
    serializer_class = NoticeSerializer
    pagination_class = KeyCursorPagination
    queryset = Notice.objects.filter(status=Notice.Status.PUBLISHED).select_related("node")


def register(router):
    router.register("notices", NoticeViewSet, basename="notice")
