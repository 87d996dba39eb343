"""Registry JSON API (read-only): area nodes, units, exact person look-ups. Mounted at /api/v1/.

Everything is scoped by the caller's roles exactly as the pages are: lists leave out what lies outside the
scope and a detail outside it answers 404. Lists page by key (cursor, ordered by id).

Personal data is masked (张**, 138****5678, 410102********1234). It is returned in full only when the caller
(1) holds a role that sees unmasked data over the object, (2) is signed in with a session that passed the
second factor, and (3) asks with `?reveal=1`; each such response writes a "pii.view" audit entry per person.
API tokens never unmask: a token carries no second factor, so token callers always get masked values.
Writes do not go through this API: rosters come in through the importer, changes through registry actions.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from gongzhi.core import pii
from gongzhi.core.api import KeyCursorPagination, error_responses
from gongzhi.core.gate import GatePermission
from gongzhi.core.geo import STORAGE_DATUM
from gongzhi.registry import selectors
from gongzhi.registry.disclosure import can_unmask, record_pii_view
from gongzhi.registry.import_api import RosterImportViewSet
from gongzhi.registry.models import AreaLevel, AreaNode, CompoundProfile, Ownership, Residence, Unit


def api_can_unmask(request, obj) -> bool:
    if request.query_params.get("reveal") != "1":
        return False
    if not isinstance(request.successful_authenticator, SessionAuthentication):
        return False  # tokens never unmask
    return can_unmask(request.user, obj)


REVEAL_PARAM = OpenApiParameter(
    "reveal",
    OpenApiTypes.STR,
    enum=["1"],
    description="1 = 显示完整电话和证件号码（须具备权限、以会话登录并通过二次验证；记入审计日志；API令牌始终脱敏）"
    " / full phone and ID numbers (permission, session sign-in with second factor; audited; tokens never unmask)",
)

# --- Filters (validated: a bad value is a 400 naming the field) ------------------------------------------------------


def id_filter(zh: str, name: str) -> serializers.IntegerField:
    msg = f"{zh}应为正整数编号 / {name} must be a positive integer id"
    return serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        error_messages={"invalid": msg, "min_value": msg, "max_value": msg, "max_string_length": msg},
    )


class NodeFilter(serializers.Serializer):
    parent = id_filter("上级区域", "parent")
    level = serializers.SlugField(
        required=False,
        max_length=50,
        error_messages={"invalid": "层级代码只能包含字母、数字、下划线和连字符 / level must be a level code"},
    )

    def validate_level(self, value: str) -> str:
        if not AreaLevel.objects.filter(code=value).exists():
            raise ValidationError("没有这个层级 / unknown level code")
        return value


class UnitFilter(serializers.Serializer):
    node = id_filter("区域", "node")
    compound = id_filter("楼院", "compound")


class PersonFilter(serializers.Serializer):
    phone = serializers.CharField(required=False, max_length=30)
    id_number = serializers.CharField(required=False, max_length=30)

    def validate_phone(self, value: str) -> str:
        try:
            return pii.normalize_phone(value)
        except pii.PiiError as e:
            raise ValidationError(str(e)) from None

    def validate_id_number(self, value: str) -> str:
        try:
            return pii.normalize_resident_id(value)
        except pii.PiiError as e:
            raise ValidationError(str(e)) from None

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("phone") and not attrs.get("id_number"):
            raise ValidationError({"phone": "请提供手机号或身份证号之一 / give phone or id_number"})
        return attrs


def validated(filter_class, request) -> dict:
    f = filter_class(data=request.query_params)
    f.is_valid(raise_exception=True)
    return f.validated_data


# --- Serializers -----------------------------------------------------------------------------------------------------

SHARE = {"max_digits": 5, "decimal_places": 4, "read_only": True, "allow_null": True}  # null: nobody lives there


class CompoundProfileSerializer(serializers.ModelSerializer):
    management_label = serializers.CharField(source="get_management_display", read_only=True)
    age_years = serializers.SerializerMethodField(help_text="房龄（年） / age in years, this year")
    datum = serializers.SerializerMethodField(help_text="坐标系 / coordinate datum of latitude and longitude")

    class Meta:
        model = CompoundProfile
        fields = [
            "year_built",
            "age_years",
            "management",
            "management_label",
            "fees_collected",
            "latitude",
            "longitude",
            "datum",
        ]

    def get_age_years(self, obj) -> int | None:
        return obj.age_years(timezone.localdate())

    def get_datum(self, obj) -> str:
        return STORAGE_DATUM


class NodeSerializer(serializers.ModelSerializer):
    level = serializers.SlugRelatedField(slug_field="code", read_only=True)
    level_name = serializers.CharField(source="level.name", read_only=True)
    share_60 = serializers.DecimalField(**SHARE, help_text="60岁及以上居民占比（0–1） / share of residents aged 60+")
    share_80 = serializers.DecimalField(**SHARE, help_text="80岁及以上居民占比（0–1） / share of residents aged 80+")

    class Meta:
        model = AreaNode
        fields = [
            "id",
            "name",
            "code",
            "address",
            "level",
            "level_name",
            "parent",
            "path",
            "depth",
            "unit_count",
            "household_count",
            "resident_count",
            "aged_60_count",
            "aged_80_count",
            "compound_count",
            "share_60",
            "share_80",
        ]


class NodeDetailSerializer(NodeSerializer):
    is_compound = serializers.BooleanField(source="level.is_compound", read_only=True)
    profile = CompoundProfileSerializer(read_only=True, allow_null=True)

    class Meta(NodeSerializer.Meta):
        fields = NodeSerializer.Meta.fields + ["is_compound", "profile"]


class UnitSerializer(serializers.ModelSerializer):
    node_name = serializers.CharField(source="node.name", read_only=True)
    voting_area = serializers.SerializerMethodField(help_text="计票面积：登记 > 测绘 > 合同 / area counted in votes")
    voting_area_source = serializers.SerializerMethodField(help_text="registered | surveyed | contract | ''")

    class Meta:
        model = Unit
        fields = [
            "id",
            "number",
            "floor",
            "usage",
            "node",
            "node_name",
            "compound",
            "path",
            "area_registered",
            "area_surveyed",
            "area_contract",
            "voting_area",
            "voting_area_source",
            "resident_count",
        ]

    @extend_schema_field(serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True))
    def get_voting_area(self, obj):
        area = obj.voting_area()[0]
        return None if area is None else f"{area:.2f}"

    def get_voting_area_source(self, obj) -> str:
        return obj.voting_area()[1]


class ShownPersonSerializer(serializers.Serializer):
    """A person as the caller may see them; masked unless `unmasked` is true."""

    id = serializers.IntegerField(source="pk")
    kind = serializers.CharField()
    name = serializers.CharField()
    phone = serializers.CharField()
    id_number = serializers.CharField(help_text="脱敏身份证号，住户列表中为空 / masked; empty for residents")
    is_developer = serializers.BooleanField()
    unmasked = serializers.BooleanField()


class OwnerSerializer(serializers.Serializer):
    person = ShownPersonSerializer(source="shown")
    is_designated_voter = serializers.BooleanField(source="row.is_designated_voter")
    developer_status = serializers.ChoiceField(source="row.developer_status", choices=Ownership.DeveloperStatus.choices)
    share = serializers.DecimalField(source="row.share", max_digits=5, decimal_places=4, allow_null=True)


class ResidentSerializer(serializers.Serializer):
    person = ShownPersonSerializer(source="shown")
    relation = serializers.ChoiceField(source="row.relation", choices=Residence.Relation.choices)
    is_household_head = serializers.BooleanField(source="row.is_household_head")
    age_band = serializers.CharField(source="band", help_text="年龄段（不给出生日期） / age band, never the birth date")


class UnitDetailSerializer(UnitSerializer):
    owners = OwnerSerializer(many=True, read_only=True, source="api_owners")
    residents = ResidentSerializer(many=True, read_only=True, source="api_residents")
    liaison = serializers.SerializerMethodField(help_text="党员联络员（姓名脱敏） / party liaison, name masked")

    class Meta(UnitSerializer.Meta):
        fields = UnitSerializer.Meta.fields + ["owners", "residents", "liaison"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_liaison(self, obj):
        a = getattr(obj, "api_liaison", None)
        return None if a is None else f"{a.liaison.person} · {a.liaison.organization.name}"


class PersonLookupSerializer(serializers.Serializer):
    person = ShownPersonSerializer(source="shown")
    owned_units = serializers.ListField(
        child=serializers.IntegerField(), help_text="在您范围内拥有的房屋 / units owned"
    )
    resident_units = serializers.ListField(
        child=serializers.IntegerField(), help_text="在您范围内居住的房屋 / units lived in"
    )


@dataclass
class _Row:
    row: object
    shown: selectors.ShownPerson
    band: str = ""


@dataclass
class _PersonRow:
    shown: selectors.ShownPerson
    owned_units: list[int]
    resident_units: list[int]


# --- Viewsets ------------------------------------------------------------------------------------------------------------


class RegistryViewSet(viewsets.GenericViewSet):
    """A staff role somewhere opens the registry API (else 403); rows outside the reader's scope answer 404."""

    permission_classes = [GatePermission]
    gate_entry = "registry.view_areanode"
    pagination_class = KeyCursorPagination


@extend_schema_view(
    list=extend_schema(
        summary="区域节点列表 / area nodes in your scope",
        parameters=[
            OpenApiParameter("parent", OpenApiTypes.INT, description="上级区域编号 / children of this node"),
            OpenApiParameter("level", OpenApiTypes.STR, description="层级代码，如 courtyard / level code"),
        ],
        responses={200: NodeSerializer(many=True), **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="区域节点详情 / one area node with its compound facts and stored counts",
        responses={200: NodeDetailSerializer, **error_responses(401, 403, 404)},
    ),
)
class NodeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """Area nodes (区、街道、社区、小区、楼院、楼栋、单元) in the caller's scope, with their stored counts."""

    gate_perms = {"list": "registry.view_areanode", "retrieve": "registry.view_areanode"}

    def get_queryset(self):
        qs = selectors.visible_nodes(self.request.user).select_related("level")
        return qs.select_related("profile") if self.action == "retrieve" else qs

    def get_serializer_class(self):
        return NodeDetailSerializer if self.action == "retrieve" else NodeSerializer

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        f = validated(NodeFilter, self.request)
        if "parent" in f:
            queryset = queryset.filter(parent_id=f["parent"])
        if "level" in f:
            queryset = queryset.filter(level__code=f["level"])
        return queryset


@extend_schema_view(
    list=extend_schema(
        summary="房屋列表 / units in your scope",
        parameters=[
            OpenApiParameter("node", OpenApiTypes.INT, description="该区域下的全部房屋 / every unit under this node"),
            OpenApiParameter("compound", OpenApiTypes.INT, description="该楼院的房屋 / units of this compound"),
        ],
        responses={200: UnitSerializer(many=True), **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="房屋详情（业主、住户信息脱敏）/ one unit with owners and residents, masked",
        parameters=[REVEAL_PARAM],
        responses={200: UnitDetailSerializer, **error_responses(401, 403, 404)},
    ),
)
class UnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RegistryViewSet):
    """Units (专有部分/户) in the caller's scope. Owners and residents are masked; API tokens never unmask."""

    gate_perms = {"list": "registry.view_unit", "retrieve": "registry.view_unit"}

    def get_queryset(self):
        return selectors.visible_units(self.request.user).select_related("node")

    def get_serializer_class(self):
        return UnitDetailSerializer if self.action == "retrieve" else UnitSerializer

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        f = validated(UnitFilter, self.request)
        if "node" in f:
            path = AreaNode.objects.filter(pk=f["node"]).values_list("path", flat=True).first()
            queryset = queryset.filter(path__startswith=path) if path else queryset.none()
        if "compound" in f:
            queryset = queryset.filter(compound_id=f["compound"])
        return queryset

    def get_object(self):
        unit = super().get_object()
        unmask = api_can_unmask(self.request, unit)
        view = selectors.unit_view(unit, unmasked=unmask, today=timezone.localdate())
        if unmask:
            record_pii_view(view.people, actor=self.request.user, channel="api")
        unit.api_owners = [_Row(own, shown) for own, shown in view.owners]
        unit.api_residents = [_Row(res, shown, band) for res, shown, band in view.residents]
        unit.api_liaison = view.liaison
        return unit


class PersonLookupResultSerializer(serializers.Serializer):
    results = PersonLookupSerializer(many=True)
    truncated = serializers.BooleanField(help_text="结果超过上限时为真 / true when more matched than shown")


class PersonViewSet(RegistryViewSet):
    """Exact look-ups only (there is no list of everyone). Results are always masked on this endpoint.

    The phone or ID number travels in the request body (POST), never in the address, so it stays out of server
    logs, proxies and Referer headers.
    """

    gate_perms = {"lookup": "registry.view_person"}

    def get_queryset(self):
        return selectors.visible_people(self.request.user)

    @extend_schema(
        summary="按手机号或身份证号精确查找居民（脱敏）/ exact look-up of people by phone or ID number, masked",
        description="号码放在请求体中，不放在网址里 / the number goes in the request body, never in the URL",
        request=PersonFilter,
        responses={200: PersonLookupResultSerializer, **error_responses(400, 401, 403)},
    )
    @action(detail=False, methods=["post"])
    def lookup(self, request):
        f = PersonFilter(data=request.data)
        f.is_valid(raise_exception=True)
        qs = selectors.with_units_in_scope(selectors.find_people(request.user, **f.validated_data), request.user)
        people = list(qs.order_by("id")[: selectors.SEARCH_LIMIT + 1])
        rows = [
            _PersonRow(
                selectors.show_person(p),
                sorted({o.unit_id for o in p.shown_ownerships}),
                sorted({r.unit_id for r in p.shown_residences}),
            )
            for p in people[: selectors.SEARCH_LIMIT]
        ]
        return Response(
            {
                "results": PersonLookupSerializer(rows, many=True).data,
                "truncated": len(people) > selectors.SEARCH_LIMIT,
            }
        )


def register(router):
    router.register("nodes", NodeViewSet, basename="registry-node")
    router.register("units", UnitViewSet, basename="registry-unit")
    router.register("persons", PersonViewSet, basename="registry-person")
    router.register("roster-imports", RosterImportViewSet, basename="roster-import")
