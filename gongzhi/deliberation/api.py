"""Deliberation JSON API: matters (list, detail), opinions and objections (POST, with Idempotency-Key).

Lists are scoped like the pages (staff in scope) and page by key; a matter outside the caller's view is a
404. POSTs call the same actions as the pages: a resident submits their own opinion/objection; a hotline
operator or worker passes `on_behalf_of` (a person id) and `unit` and `channel`, and it is recorded as such.
A retried POST with the same Idempotency-Key returns the first result (200 instead of 201), never a duplicate.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from gongzhi.core.api import KeyCursorPagination, error_responses
from gongzhi.core.gate import GatePermission, check
from gongzhi.core.idempotency import replayed
from gongzhi.core.rules import SIGNED_IN, scope_q
from gongzhi.deliberation import actions
from gongzhi.deliberation.models import Channel, Matter, Objection, Opinion, StageDefinition
from gongzhi.registry.models import Person, Unit


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = StageDefinition
        fields = ["code", "name", "name_en", "order", "bodies", "features", "notice_days"]


class MatterSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    stage = StageSerializer(read_only=True)
    scope = serializers.CharField(source="scope.name", read_only=True)

    class Meta:
        model = Matter
        fields = [
            "id",
            "reference",
            "title",
            "summary",
            "scope",
            "stage",
            "stage_entered_on",
            "notice_posted_on",
            "notice_ends_on",
            "resolution",
            "resolved_on",
            "vote_id",
            "outcome",
            "created_at",
        ]


class MatterDetailSerializer(MatterSerializer):
    stages = serializers.SerializerMethodField()
    proposal = serializers.SerializerMethodField()
    open_objections = serializers.SerializerMethodField()

    class Meta(MatterSerializer.Meta):
        fields = [*MatterSerializer.Meta.fields, "resolution_text", "stages", "proposal", "open_objections"]

    def get_stages(self, obj) -> list[dict]:
        return StageSerializer(obj.template.stages.order_by("order"), many=True).data

    def get_proposal(self, obj) -> dict | None:
        p = obj.proposals.order_by("-number").first()
        return {"number": p.number, "text": p.text, "note": p.note} if p else None

    def get_open_objections(self, obj) -> int:
        return obj.objections.filter(status=Objection.Status.OPEN).count()


def _id_field(zh: str, en: str, required: bool = False):
    msg = f"{zh}应为正整数编号 / {en} must be a positive integer id"
    return serializers.IntegerField(
        required=required,
        min_value=1,
        max_value=2**63 - 1,
        error_messages={
            "invalid": msg,
            "min_value": msg,
            "max_value": msg,
            "required": f"{zh}不能为空 / {en} is required",
        },
    )


class OpinionIn(serializers.Serializer):
    text = serializers.CharField(
        max_length=2000,
        error_messages={
            "required": "意见内容不能为空 / text is required",
            "blank": "意见内容不能为空 / text is required",
            "max_length": "意见内容不能超过2000字 / text is longer than 2000 characters",
        },
    )
    kind = serializers.ChoiceField(
        choices=Opinion.Kind.choices,
        default=Opinion.Kind.OPINION,
        error_messages={"invalid_choice": "类型应为 need 或 opinion / kind must be need or opinion"},
    )
    unit = _id_field("房屋", "unit")
    on_behalf_of = _id_field("代为填报的居民", "on_behalf_of")
    channel = serializers.ChoiceField(
        choices=[c for c in Channel.choices if c[0] != Channel.ONLINE],
        required=False,
        error_messages={
            "invalid_choice": "渠道应为 hotline、door 或 meeting / channel must be hotline, door or meeting"
        },
    )


class OpinionOut(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)

    class Meta:
        model = Opinion
        fields = ["id", "reference", "kind", "channel", "unit", "on_behalf_of", "created_at"]


class ObjectionIn(serializers.Serializer):
    reasons = serializers.CharField(
        max_length=5000,
        error_messages={
            "required": "异议理由不能为空 / reasons are required",
            "blank": "异议理由不能为空 / reasons are required",
        },
    )
    unit = _id_field("房屋", "unit")
    on_behalf_of = _id_field("代为提出的居民", "on_behalf_of")
    channel = serializers.ChoiceField(choices=[c for c in Channel.choices if c[0] != Channel.ONLINE], required=False)


class ObjectionOut(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)

    class Meta:
        model = Objection
        fields = ["id", "reference", "status", "channel", "unit", "created_at"]


IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="重试时使用同一个键，不会重复登记 / reuse on retry: the first result is returned, nothing is counted twice",
)
STAGE = OpenApiParameter(
    "stage", OpenApiTypes.STR, description="阶段代码 / stage code, e.g. solicit, resolution_notice"
)


@extend_schema_view(
    list=extend_schema(parameters=[STAGE], responses={200: MatterSerializer(many=True), **error_responses(401, 403)}),
    retrieve=extend_schema(responses={200: MatterDetailSerializer, **error_responses(401, 403, 404)}),
)
class MatterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """议题 — matters of the caller's area scope (staff); a resident may read a matter covering their home."""

    permission_classes = [GatePermission]
    # Any signed-in reader: the list holds the matters of the staff's scope (a resident's is empty), a matter is
    # seen by its staff and residents (else 404), and the actions decide opinions and objections (403).
    gate_perms = {"list": SIGNED_IN, "retrieve": SIGNED_IN, "opinions": SIGNED_IN, "objections": SIGNED_IN}
    pagination_class = KeyCursorPagination
    serializer_class = MatterSerializer
    queryset = Matter.objects.none()

    def get_queryset(self):
        qs = Matter.objects.select_related("stage", "scope", "template")
        if self.action == "list":
            q = scope_q(self.request.user, "staff", "path")
            qs = qs if q is None else qs.filter(q)
            stage = self.request.query_params.get("stage")
            if stage:
                qs = qs.filter(stage__code=stage[:50])
        return qs

    def get_serializer_class(self):
        return MatterDetailSerializer if self.action == "retrieve" else MatterSerializer

    def get_object(self):
        matter = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        check(
            self.request.user, "deliberation.view_matter", matter, view_perm="deliberation.view_matter"
        )  # out of sight: 404, as if absent
        return matter

    def _resident_or_proxy(self, request, matter, data, own, proxied):
        """Call the resident's own action, or — with on_behalf_of — the proxy entry action."""
        if data.get("on_behalf_of"):
            if not data.get("unit") or not data.get("channel"):
                raise ValidationError(
                    {"channel": ["代为登记须写明房屋和渠道 / unit and channel are required for proxy entry"]}
                )
            person = Person.objects.filter(pk=data["on_behalf_of"]).first()
            unit = Unit.objects.filter(pk=data["unit"]).first()
            if person is None:
                raise ValidationError({"on_behalf_of": ["没有这位居民 / no such person"]})
            if unit is None:
                raise ValidationError({"unit": ["没有这个房屋 / no such unit"]})
            return proxied(person, unit)
        unit = None
        if data.get("unit"):
            unit = Unit.objects.filter(pk=data["unit"]).first()
            if unit is None:
                raise ValidationError({"unit": ["没有这个房屋 / no such unit"]})
        return own(unit)

    @extend_schema(
        request=OpinionIn,
        parameters=[IDEMPOTENCY],
        responses={201: OpinionOut, 200: OpinionOut, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def opinions(self, request, pk=None):
        """一征: submit a need or opinion (resident), or enter one for a resident (operator, with on_behalf_of)."""
        matter = self.get_object()
        data = _valid(OpinionIn, request.data)
        key = (request.headers.get("Idempotency-Key") or "")[:64]
        before = replayed(Opinion, key, matter=matter)
        opinion = self._resident_or_proxy(
            request,
            matter,
            data,
            own=lambda unit: actions.submit_opinion(
                matter, actor=request.user, text=data["text"], kind=data["kind"], unit=unit, idempotency_key=key
            ),
            proxied=lambda person, unit: actions.enter_opinion(
                matter,
                actor=request.user,
                on_behalf_of=person,
                unit=unit,
                text=data["text"],
                kind=data["kind"],
                channel=data["channel"],
                idempotency_key=key,
            ),
        )
        return Response(OpinionOut(opinion).data, status=status.HTTP_200_OK if before else status.HTTP_201_CREATED)

    @extend_schema(
        request=ObjectionIn,
        parameters=[IDEMPOTENCY],
        responses={201: ObjectionOut, 200: ObjectionOut, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def objections(self, request, pk=None):
        """决议公开: object to the posted resolution during its notice period, with reasons."""
        matter = self.get_object()
        data = _valid(ObjectionIn, request.data)
        key = (request.headers.get("Idempotency-Key") or "")[:64]
        before = replayed(Objection, key, matter=matter)
        objection = self._resident_or_proxy(
            request,
            matter,
            data,
            own=lambda unit: actions.lodge_objection(
                matter, actor=request.user, reasons=data["reasons"], unit=unit, idempotency_key=key
            ),
            proxied=lambda person, unit: actions.enter_objection(
                matter,
                actor=request.user,
                on_behalf_of=person,
                unit=unit,
                reasons=data["reasons"],
                channel=data["channel"],
                idempotency_key=key,
            ),
        )
        return Response(ObjectionOut(objection).data, status=status.HTTP_200_OK if before else status.HTTP_201_CREATED)


def _valid(serializer_class, data) -> dict:
    s = serializer_class(data=data)
    s.is_valid(raise_exception=True)
    return s.validated_data


def register(router):
    router.register("matters", MatterViewSet, basename="matter")
