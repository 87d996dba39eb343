"""Organisation API: kinds, organisations (scoped, members masked), the coverage report; writes call actions."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from gongzhi.core.api import KeyCursorPagination, error_responses
from gongzhi.core.gate import GatePermission
from gongzhi.core.rules import scoped
from gongzhi.organizations import actions, selectors
from gongzhi.organizations.models import Membership, Organization, OrgKind
from gongzhi.registry.models import AreaNode, Person


def _bad(field: str, zh: str, en: str) -> serializers.ValidationError:
    return serializers.ValidationError({field: [f"{zh} / {en}"]})


def _node_param(request, *, required: bool) -> AreaNode | None:
    raw = request.query_params.get("node", "")
    if not raw:
        if required:
            raise _bad("node", "请指定区域（node）", "the node parameter is required")
        return None
    try:
        return AreaNode.objects.select_related("level").get(pk=int(raw))
    except (ValueError, AreaNode.DoesNotExist):
        raise _bad("node", "区域不存在", "no such area node")


# --- serializers ---------------------------------------------------------------------------------------


class OrgKindSerializer(serializers.ModelSerializer):
    parent_kind = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = OrgKind
        fields = [
            "id",
            "code",
            "name",
            "name_en",
            "category",
            "chain_rank",
            "parent_kind",
            "expected_level",
            "is_temporary",
        ]


class OrganizationSerializer(serializers.ModelSerializer):
    kind = serializers.SlugRelatedField(slug_field="code", read_only=True)
    kind_name = serializers.CharField(source="kind.name", read_only=True)
    category = serializers.CharField(source="kind.category", read_only=True)
    node_name = serializers.CharField(source="node.name", read_only=True)

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "kind",
            "kind_name",
            "category",
            "node",
            "node_name",
            "path",
            "parent",
            "project_ref",
            "phone",
            "founded",
            "dissolved",
        ]


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    person_id = serializers.IntegerField()
    name = serializers.CharField(help_text="脱敏姓名 / masked name")
    phone = serializers.CharField(help_text="脱敏电话 / masked phone")
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    role_label = serializers.CharField()
    is_party_member = serializers.BooleanField()
    since = serializers.DateField(allow_null=True)
    households = serializers.IntegerField(allow_null=True, help_text="联络员当前联系的住户数 / households of a liaison")


class OrganizationDetailSerializer(OrganizationSerializer):
    members = serializers.SerializerMethodField()

    class Meta(OrganizationSerializer.Meta):
        fields = [*OrganizationSerializer.Meta.fields, "members"]

    @extend_schema_field(MemberSerializer(many=True))
    def get_members(self, org) -> list[dict]:
        return MemberSerializer([selectors.member_row(m) for m in selectors.current_members(org)], many=True).data


class OrganizationCreateSerializer(serializers.Serializer):
    kind = serializers.SlugField(help_text="组织类型代码，见 /api/v1/org-kinds/")
    node = serializers.IntegerField(help_text="所在区域 id")
    name = serializers.CharField(max_length=150)
    parent = serializers.IntegerField(required=False, allow_null=True)
    project_ref = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    founded = serializers.DateField(required=False, allow_null=True)

    def validate_kind(self, value):
        kind = OrgKind.objects.filter(code=value).select_related("parent_kind").first()
        if kind is None:
            raise serializers.ValidationError("组织类型不存在 / no such organisation kind")
        return kind

    def validate_node(self, value):
        node = AreaNode.objects.select_related("level").filter(pk=value).first()
        if node is None or not self.context["request"].user.has_perm("organizations.view_organization", node):
            raise serializers.ValidationError("区域不存在或不在您的管辖范围内 / no such area in your scope")
        return node

    def validate_parent(self, value):
        if value is None:
            return None
        org = Organization.objects.select_related("kind").filter(pk=value).first()
        if org is None or not self.context["request"].user.has_perm("organizations.view_organization", org):
            raise serializers.ValidationError(
                "上级组织不存在或不在您的管辖范围内 / no such parent organisation in your scope"
            )
        return org


class MemberCreateSerializer(serializers.Serializer):
    person = serializers.IntegerField(help_text="人员 id（registry）")
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    is_party_member = serializers.BooleanField(default=False)

    def validate_person(self, value):
        person = Person.objects.filter(pk=value, erased_at__isnull=True).first()
        if person is None or not self.context["request"].user.has_perm("registry.view_person", person):
            raise serializers.ValidationError("人员不存在或不在您的管辖范围内 / no such person in your scope")
        return person


class CoverageRowSerializer(serializers.Serializer):
    compound_id = serializers.IntegerField()
    name = serializers.CharField()
    parent_name = serializers.CharField()
    community_id = serializers.IntegerField(allow_null=True)
    community = serializers.CharField()
    has_party = serializers.BooleanField()
    has_self_governance = serializers.BooleanField()
    has_volunteer = serializers.BooleanField()
    households = serializers.IntegerField(help_text="有在住居民的房屋数 / units with at least one resident")
    households_without_liaison = serializers.IntegerField()
    complete = serializers.BooleanField(
        help_text="三类组织齐全且住户都有联络员 / all three kinds and every household has a liaison"
    )


class CoverageTotalsSerializer(serializers.Serializer):
    community_id = serializers.IntegerField(allow_null=True)
    community = serializers.CharField()
    compounds = serializers.IntegerField()
    with_party = serializers.IntegerField()
    with_self_governance = serializers.IntegerField()
    with_volunteer = serializers.IntegerField()
    with_all_three = serializers.IntegerField()
    households = serializers.IntegerField()
    households_without_liaison = serializers.IntegerField()


class CoverageSerializer(serializers.Serializer):
    node = serializers.IntegerField()
    next = serializers.CharField(allow_null=True, help_text="下一页链接（按键分页）/ next page, keyed by compound")
    results = CoverageRowSerializer(many=True)
    communities = CoverageTotalsSerializer(many=True)
    totals = CoverageTotalsSerializer()


def _row(r: selectors.CoverageRow) -> dict:
    return {
        "compound_id": r.compound_id,
        "name": r.name,
        "parent_name": r.parent_name,
        "community_id": r.community_id,
        "community": r.community,
        "has_party": r.has_party,
        "has_self_governance": r.has_self_governance,
        "has_volunteer": r.has_volunteer,
        "households": r.households,
        "households_without_liaison": r.households_without_liaison,
        "complete": r.complete,
    }


def _totals(t: selectors.CoverageTotals) -> dict:
    return {
        "community_id": t.community_id,
        "community": t.community,
        "compounds": t.compounds,
        "with_party": t.with_party,
        "with_self_governance": t.with_self_governance,
        "with_volunteer": t.with_volunteer,
        "with_all_three": t.with_all_three,
        "households": t.households,
        "households_without_liaison": t.households_without_liaison,
    }


# --- views ---------------------------------------------------------------------------------------------


@extend_schema(tags=["organizations"])
class OrgKindViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """组织类型（数据配置）— organisation kinds, as configured by the district."""

    permission_classes = [GatePermission]
    gate_perms = {"list": "organizations.view_orgkind"}
    serializer_class = OrgKindSerializer
    queryset = OrgKind.objects.select_related("parent_kind")
    pagination_class = KeyCursorPagination

    @extend_schema(responses={200: OrgKindSerializer(many=True), **error_responses(401, 403)})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


NODE_PARAM = OpenApiParameter("node", int, description="区域 id：该区域及其下级 / an area node and everything under it")


@extend_schema(tags=["organizations"])
class OrganizationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """组织 — organisations in the caller's area scope."""

    permission_classes = [GatePermission]
    gate_entry = "organizations.view_organization"  # a staff role somewhere; rows outside the scope answer 404
    # Creating and adding members are decided by the actions on the node and the organisation (403).
    gate_perms = {
        "list": "organizations.view_organization",
        "retrieve": "organizations.view_organization",
        "create": "organizations.view_organization",
        "members": "organizations.view_organization",
    }
    pagination_class = KeyCursorPagination

    def get_queryset(self):
        qs = scoped(Organization.objects.select_related("kind", "node"), self.request.user, "staff")
        if self.action == "list":
            node = _node_param(self.request, required=False)
            if node is not None:
                qs = qs.filter(path__startswith=node.path)
            kind = self.request.query_params.get("kind")
            if kind:
                qs = qs.filter(kind__code=kind)
            if self.request.query_params.get("include_dissolved") != "1":
                qs = qs.filter(dissolved__isnull=True)
        return qs

    def get_serializer_class(self):
        if self.action == "retrieve":
            return OrganizationDetailSerializer
        if self.action == "create":
            return OrganizationCreateSerializer
        if self.action == "members":
            return MemberCreateSerializer
        return OrganizationSerializer

    @extend_schema(
        parameters=[
            NODE_PARAM,
            OpenApiParameter("kind", str, description="组织类型代码 / kind code"),
            OpenApiParameter("include_dissolved", str, enum=["1"]),
        ],
        responses={200: OrganizationSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: OrganizationDetailSerializer, **error_responses(401, 403, 404)})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=OrganizationCreateSerializer,
        responses={201: OrganizationDetailSerializer, **error_responses(400, 401, 403)},
    )
    def create(self, request):
        ser = OrganizationCreateSerializer(data=request.data, context={"request": request})
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        org = actions.create_organization(
            actor=request.user,
            kind=d["kind"],
            node=d["node"],
            name=d["name"],
            parent=d.get("parent"),
            project_ref=d.get("project_ref", ""),
            phone=d.get("phone", ""),
            founded=d.get("founded"),
        )
        return Response(OrganizationDetailSerializer(org).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=MemberCreateSerializer,
        responses={201: MemberSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def members(self, request, pk=None):
        org = self.get_object()
        ser = MemberCreateSerializer(data=request.data, context={"request": request})
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        membership = actions.add_member(
            org, actor=request.user, person=d["person"], role=d["role"], is_party_member=d["is_party_member"]
        )
        membership.household_total = 0
        return Response(MemberSerializer(selectors.member_row(membership)).data, status=status.HTTP_201_CREATED)


class _OneObjectSchema(AutoSchema):
    """The coverage "list" answers one object (rows, per-community and grand totals), not an array of them."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


@extend_schema(tags=["organizations"])
class CoverageViewSet(viewsets.ViewSet):
    """组织覆盖 — the coverage report: the same figures as /organizations/coverage/."""

    schema = _OneObjectSchema()

    permission_classes = [GatePermission]
    gate_perms = {"list": "organizations.view_coverage"}  # then on the node asked for (403 outside the scope)

    @extend_schema(
        parameters=[
            OpenApiParameter("node", int, required=True, description="街道或社区 id / subdistrict or community id"),
            OpenApiParameter(
                "after", int, description="上一页最后一个楼院的 id / last compound id of the previous page"
            ),
            OpenApiParameter("only_incomplete", str, enum=["1"]),
            OpenApiParameter("page_size", int),
        ],
        responses={200: CoverageSerializer, **error_responses(400, 401, 403, 404)},
    )
    def list(self, request):
        node = _node_param(request, required=True)
        if not request.user.has_perm("organizations.view_coverage", node):
            raise Http404
        try:
            after = int(request.query_params["after"]) if request.query_params.get("after") else None
        except ValueError:
            raise _bad("after", "游标无效", "after must be a compound id")
        try:
            size = min(500, max(1, int(request.query_params.get("page_size", 50))))
        except ValueError:
            raise _bad("page_size", "每页条数无效", "page_size must be a number")
        only_incomplete = request.query_params.get("only_incomplete") == "1"
        communities = selectors.communities_for(node)
        page = selectors.coverage_for(
            node, after=after, limit=size, only_incomplete=only_incomplete, communities=communities
        )
        per_community, grand = selectors.coverage_totals(node, communities=communities)
        next_url = None
        if page.next_after is not None:
            q = request.query_params.copy()
            q["after"] = str(page.next_after)
            next_url = request.build_absolute_uri(f"{request.path}?{q.urlencode()}")
        return Response(
            {
                "node": node.pk,
                "next": next_url,
                "results": [_row(r) for r in page.rows],
                "communities": [_totals(t) for t in per_community],
                "totals": _totals(grand),
            }
        )


def register(router):
    router.register("org-kinds", OrgKindViewSet, basename="org-kind")
    router.register("organizations", OrganizationViewSet, basename="organization")
    router.register("coverage", CoverageViewSet, basename="coverage")
