"""The servicedesk part's JSON API under /api/v1/: the catalogue (public) and the work orders in the reader's
staff scope (read-only; moves go through the pages and the actions, filing from outside through Open311).
No requester data is serialised; the place is the compound."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets

from gongzhi.core.api import KeyCursorPagination, error_responses
from gongzhi.core.gate import GatePermission
from gongzhi.servicedesk import selectors
from gongzhi.servicedesk.models import Category, ServiceRequest


class CategorySerializer(serializers.ModelSerializer):
    body = serializers.CharField(source="body_name", read_only=True)

    class Meta:
        model = Category
        fields = ["code", "name", "name_en", "group", "body", "limit_value", "limit_unit", "response_hours"]


class RequestSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.code", read_only=True)
    place = serializers.CharField(read_only=True)

    class Meta:
        model = ServiceRequest
        fields = [
            "id", "reference", "category", "status", "channel", "place", "accepted_at", "dispatched_at",
            "taken_at", "contacted_at", "due_at", "completed_at", "escalation_level", "rework_count", "taker_kind",
            "satisfaction",
        ]  # fmt: skip


@extend_schema_view(list=extend_schema(responses={200: CategorySerializer(many=True), **error_responses(400, 401)}))
class CategoryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """派单目录 — the active categories with their body and limits."""

    permission_classes = [permissions.AllowAny]
    serializer_class = CategorySerializer
    pagination_class = None
    queryset = Category.objects.filter(active=True).select_related("responsible")


@extend_schema_view(
    list=extend_schema(responses={200: RequestSerializer(many=True), **error_responses(400, 401, 403)}),
    retrieve=extend_schema(responses={200: RequestSerializer, **error_responses(401, 403, 404)}),
)
class RequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """工单 — the orders the reader may see (their staff or taker scope, their own), paged by key."""

    permission_classes = [GatePermission]
    gate_perms = {"list": "servicedesk.view_queue", "retrieve": "servicedesk.view_request"}
    serializer_class = RequestSerializer
    pagination_class = KeyCursorPagination

    def get_queryset(self):
        return selectors.visible(self.request.user)


def register(router) -> None:
    """Add this part's viewsets to the API router."""
    router.register("servicedesk/categories", CategoryViewSet, basename="servicedesk-category")
    router.register("servicedesk/requests", RequestViewSet, basename="servicedesk-request")
