"""The renovation part's JSON API under /api/v1/renovation/: every operation asks the gate (GatePermission),
every change calls an action; errors carry the field, a Chinese and an English message."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from gongzhi.core.api import GENERIC, KeyCursorPagination, error_responses
from gongzhi.core.gate import GatePermission, allows, check
from gongzhi.core.roles import roles_with
from gongzhi.core.rules import scope_q
from gongzhi.organizations.models import Membership
from gongzhi.registry.models import AreaNode, Person, Unit
from gongzhi.renovation import actions, selectors
from gongzhi.renovation.actions import RenovationError
from gongzhi.renovation.models import Defect, MenuItem, Order, Plan, Project, WorkItem


def renovation_error(exc: RenovationError) -> Response:
    zh, en = GENERIC.get(exc.status, ("请求失败", "request failed"))
    return Response(
        {
            "status": exc.status,
            "message": zh,
            "message_en": en,
            "errors": [{"field": exc.field, "message": exc.zh, "message_en": exc.en, "code": "invalid"}],
        },
        status=exc.status,
    )


# --- serializers -------------------------------------------------------------------------------------------------


class MenuItemSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.name")
    category_code = serializers.CharField(source="category.code")
    depends_on = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = MenuItem
        fields = [
            "id",
            "code",
            "name",
            "description",
            "category",
            "category_code",
            "coverage",
            "unit_cost",
            "cost_basis",
            "share_basis",
            "floor_coefficients",
            "pct_subsidy",
            "pct_residents",
            "pct_units",
            "pct_fund",
            "pct_public_income",
            "household_cap",
            "depends_on",
            "consent",
            "consent_numerator",
            "consent_denominator",
            "consent_inclusive",
            "matter",
        ]


class ProjectSerializer(serializers.ModelSerializer):
    scope_name = serializers.CharField(source="scope.name")
    contractor_name = serializers.CharField(source="contractor.name", default=None)
    supervisor_name = serializers.CharField(source="supervisor.name", default=None)
    party_branch_name = serializers.CharField(source="party_branch.name", default=None)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "scope",
            "scope_name",
            "stage",
            "budget",
            "contractor_name",
            "supervisor_name",
            "party_branch_name",
            "starts_on",
            "ends_on",
            "plan_adopted_at",
            "works_started_at",
            "accepted_at",
            "accounts_notice",
        ]


class TallySerializer(serializers.Serializer):
    item = serializers.IntegerField()
    item_name = serializers.CharField()
    scope_key = serializers.CharField()
    scope_label = serializers.CharField()
    households = serializers.IntegerField()
    agreeing = serializers.IntegerField()
    household_ratio = serializers.CharField(allow_null=True, help_text="exact a/b")
    area = serializers.CharField()
    agreeing_area = serializers.CharField()
    rule = serializers.CharField()
    passed = serializers.BooleanField()
    vote = serializers.IntegerField(allow_null=True)
    cost = serializers.CharField()
    residents_amount = serializers.CharField()


class BillLineSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    item_name = serializers.CharField()
    scope_label = serializers.CharField()
    cost = serializers.CharField()
    residents_amount = serializers.CharField()
    share = serializers.CharField(help_text="yuan, two decimals; empty when it cannot be computed")


class BillSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    label = serializers.CharField()
    lines = BillLineSerializer(many=True)
    total = serializers.CharField()


class TimelineSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    title = serializers.CharField()
    detail = serializers.CharField()


class OrderInSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    item = serializers.IntegerField()
    agrees = serializers.BooleanField()
    willing_to_pay = serializers.BooleanField(default=False)
    channel = serializers.ChoiceField(choices=Order.Channel.choices, default=Order.Channel.ONLINE)
    on_behalf_of = serializers.IntegerField(required=False, allow_null=True, help_text="person id (door/hotline)")


class OrderOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = ["id", "project", "unit", "item", "agrees", "willing_to_pay", "seen_share", "channel", "updated_at"]


class WorkItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkItem
        fields = ["id", "project", "external_id", "name", "budget", "progress", "starts_on", "ends_on"]


class ProgressInSerializer(serializers.Serializer):
    progress = serializers.IntegerField(min_value=0, max_value=100)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    on = serializers.DateField(required=False)


class DefectSerializer(serializers.ModelSerializer):
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Defect
        fields = [
            "id",
            "project",
            "work_item",
            "source",
            "description",
            "location",
            "spot",
            "floor",
            "plan",
            "plan_x",
            "plan_y",
            "deadline",
            "status",
            "overdue",
            "registered_at",
            "resolved_at",
            "resolved_note",
            "resolved_by_label",
            "closed_at",
        ]

    def get_overdue(self, obj) -> bool:
        return obj.is_overdue()


class DefectInSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    description = serializers.CharField(max_length=500)
    deadline = serializers.DateField()
    source = serializers.ChoiceField(choices=Defect.Source.choices, default=Defect.Source.RESIDENT)
    work_item = serializers.IntegerField(required=False, allow_null=True)
    location = serializers.IntegerField(required=False, allow_null=True)
    spot = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    floor = serializers.IntegerField(required=False, allow_null=True, help_text="negative: basement")
    plan = serializers.IntegerField(required=False, allow_null=True, help_text="a plan of the same project")
    plan_x = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True, help_text="percent from the plan's left edge"
    )
    plan_y = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True, help_text="percent from the plan's top edge"
    )
    on_behalf_of = serializers.IntegerField(required=False, allow_null=True)


class PlanSerializer(serializers.ModelSerializer):
    building_name = serializers.CharField(source="building.name", default=None)
    image_url = serializers.SerializerMethodField(help_text="the picture, served privately to those who see the plan")

    class Meta:
        model = Plan
        fields = ["id", "project", "title", "building", "building_name", "floor", "width", "height", "image_url"]

    def get_image_url(self, obj) -> str:
        return reverse("renovation:plan-image", args=[obj.project_id, obj.pk])


class PlanInSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    title = serializers.CharField(max_length=100)
    building = serializers.IntegerField(required=False, allow_null=True, help_text="a building or entrance node")
    floor = serializers.IntegerField(required=False, allow_null=True, help_text="negative: basement")
    image = serializers.FileField(help_text="PNG or JPEG")


class ResolveInSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500)


class TokenAnswerInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    note = serializers.CharField(max_length=500)


# --- viewsets ----------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(responses={200: MenuItemSerializer(many=True), **error_responses(401, 403)}),
    retrieve=extend_schema(responses={200: MenuItemSerializer, **error_responses(401, 403, 404)}),
)
class MenuItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """改造菜单 — the district menus, with cost, funding split, cap and consent rule."""

    permission_classes = [GatePermission]
    gate_perms = {"list": "renovation.view_menu", "retrieve": "renovation.view_menu"}
    serializer_class = MenuItemSerializer
    pagination_class = KeyCursorPagination
    queryset = MenuItem.objects.filter(active=True).select_related("category").prefetch_related("depends_on")


@extend_schema_view(
    list=extend_schema(responses={200: ProjectSerializer(many=True), **error_responses(401, 403)}),
    retrieve=extend_schema(responses={200: ProjectSerializer, **error_responses(401, 403, 404)}),
)
class ProjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """改造项目 — the projects the reader may see, with tallies, bills, timeline and the actions on them."""

    permission_classes = [GatePermission]
    gate_perms = {
        "list": "renovation.view_menu",
        "retrieve": "renovation.view_project",
        "tallies": "renovation.view_tallies",
        "bill": "renovation.view_project",
        "timeline": "renovation.view_project",
        "adopt_plan": "renovation.adopt_plan",
        # Seeing the project first (an anonymous caller: 401, like every other operation), then the action
        # decides: renovation.order (own household) or renovation.take_order (on a household's behalf).
        "orders": "renovation.view_project",
        "work_items": "renovation.view_works",
    }
    serializer_class = ProjectSerializer
    pagination_class = KeyCursorPagination

    def get_queryset(self):
        return selectors.visible_projects(self.request.user).select_related(
            "scope", "contractor", "supervisor", "party_branch"
        )

    def get_object(self):
        obj = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        check(self.request.user, "renovation.view_project", obj, view_perm="renovation.view_project")
        self.check_object_permissions(self.request, obj)
        return obj

    @extend_schema(responses={200: TallySerializer(many=True), **error_responses(401, 403, 404)})
    @action(detail=True, methods=["get"])
    def tallies(self, request, pk=None):
        """Demand per item and scope against each item's consent rule (exact ratios)."""
        p = self.get_object()
        out = []
        for t in selectors.tallies(p):
            ratio = t.tally.household_ratio
            out.append(
                {
                    "item": t.item.pk,
                    "item_name": t.item.name,
                    "scope_key": t.scope_key,
                    "scope_label": t.scope_label,
                    "households": t.tally.households,
                    "agreeing": t.tally.agreeing,
                    "household_ratio": None if ratio is None else f"{ratio.numerator}/{ratio.denominator}",
                    "area": str(t.tally.area),
                    "agreeing_area": str(t.tally.agreeing_area),
                    "rule": str(t.rule),
                    "passed": t.passed,
                    "vote": t.vote.pk if t.vote is not None else None,
                    "cost": f"{t.cost:.2f}",
                    "residents_amount": f"{t.residents_amount:.2f}",
                }
            )
        return Response(TallySerializer(out, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("unit", int, required=True, description="the household's unit id")],
        responses={200: BillSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["get"])
    def bill(self, request, pk=None):
        """What one household would pay, item by item (the reader's own household, or any for staff)."""
        p = self.get_object()
        try:
            unit_id = int(request.query_params.get("unit", ""))
        except ValueError:
            return renovation_error(RenovationError("请指定房屋", "give the unit", field="unit"))
        mine = {h.unit_id for h in selectors.my_households(p, request.user)}
        if unit_id not in mine:
            check(request.user, "renovation.view_tallies", p)
        if unit_id not in {h.unit_id for h in selectors.households(p)}:
            return renovation_error(
                RenovationError("此房屋不在项目范围内", "unit not in this project", field="unit", status=404)
            )
        b = selectors.bill(p, unit_id)
        lines = [
            {
                "item": ln.item.pk,
                "item_name": ln.item.name,
                "scope_label": ln.scope_label,
                "cost": f"{ln.cost:.2f}",
                "residents_amount": f"{ln.residents_amount:.2f}",
                "share": ln.share,
            }
            for ln in b.lines
        ]
        return Response(BillSerializer({"unit": unit_id, "label": b.label, "lines": lines, "total": b.total}).data)

    @extend_schema(responses={200: TimelineSerializer(many=True), **error_responses(401, 403, 404)})
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        p = self.get_object()

        entries = selectors.timeline(p, staff=allows(request.user, "renovation.view_works", p))
        return Response(TimelineSerializer([e.__dict__ for e in entries], many=True).data)

    @extend_schema(request=None, responses={200: ProjectSerializer, **error_responses(401, 403, 404, 409)})
    @action(detail=True, methods=["post"], url_path="adopt-plan")
    def adopt_plan(self, request, pk=None):
        p = self.get_object()
        try:
            actions.adopt_plan(p, actor=request.user)
        except RenovationError as exc:
            return renovation_error(exc)
        return Response(ProjectSerializer(p).data)

    @extend_schema(
        request=OrderInSerializer, responses={200: OrderOutSerializer, **error_responses(400, 401, 403, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def orders(self, request, pk=None):
        """点单: a household's answer on one item; on_behalf_of + channel door/hotline for workers and operators."""
        p = self.get_object()
        data = OrderInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        unit = Unit.objects.filter(pk=d["unit"]).first()
        item = p.menu.filter(pk=d["item"]).first()
        person = Person.objects.filter(pk=d.get("on_behalf_of")).first() if d.get("on_behalf_of") else None
        if unit is None:
            return renovation_error(RenovationError("房屋不存在", "no such unit", field="unit"))
        if item is None:
            return renovation_error(RenovationError("本项目菜单中没有此项", "not on this project's menu", field="item"))
        if d.get("on_behalf_of") and person is None:
            return renovation_error(RenovationError("居民不存在", "no such person", field="on_behalf_of"))
        share = None
        if unit.pk in {h.unit_id for h in selectors.households(p)}:
            line = selectors.bill(p, unit.pk, [item]).lines[0]
            share = Decimal(line.share) if line.share else None
        try:
            order = actions.place_order(
                p,
                actor=request.user,
                unit=unit,
                item=item,
                agrees=d["agrees"],
                willing_to_pay=d["willing_to_pay"],
                channel=d["channel"],
                on_behalf_of=person,
                seen_share=share,
            )
        except RenovationError as exc:
            return renovation_error(exc)
        return Response(OrderOutSerializer(order).data)

    @extend_schema(responses={200: WorkItemSerializer(many=True), **error_responses(401, 403, 404)})
    @action(detail=True, methods=["get"], url_path="work-items")
    def work_items(self, request, pk=None):
        p = self.get_object()
        check(request.user, "renovation.view_works", p)
        return Response(WorkItemSerializer(p.work_items.all()[:1000], many=True).data)


class WorkItemViewSet(viewsets.GenericViewSet):
    """施工内容 — progress reported by the project's contractor (the tracker) or an officer."""

    permission_classes = [GatePermission]
    gate_perms = {"progress": "renovation.report_progress"}
    queryset = WorkItem.objects.select_related("project")
    serializer_class = WorkItemSerializer

    @extend_schema(
        request=ProgressInSerializer, responses={200: WorkItemSerializer, **error_responses(400, 401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None):
        work = get_object_or_404(self.get_queryset(), pk=pk)
        check(request.user, "renovation.report_progress", work.project, view_perm="renovation.view_project")
        data = ProgressInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            actions.report_progress(
                work,
                actor=request.user,
                progress=data.validated_data["progress"],
                note=data.validated_data["note"],
                on=data.validated_data.get("on") or timezone.localdate(),
            )
        except RenovationError as exc:
            return renovation_error(exc)
        return Response(WorkItemSerializer(work).data)


@extend_schema_view(
    list=extend_schema(responses={200: DefectSerializer(many=True), **error_responses(401, 403)}),
    retrieve=extend_schema(responses={200: DefectSerializer, **error_responses(401, 403, 404)}),
)
class DefectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """质量问题 — listed for works staff and reporters; reported, resolved by the contractor, closed by the
    supervisor. Never deleted."""

    permission_classes = [GatePermission]
    gate_perms = {
        "list": "renovation.view_menu",
        "retrieve": "renovation.view_project",
        "create": "renovation.view_menu",  # the action asks renovation.report_defect on the project
        "resolve": "renovation.resolve_defect",
        "close": "renovation.close_defect",
    }
    serializer_class = DefectSerializer
    pagination_class = KeyCursorPagination
    queryset = Defect.objects.none()  # for the schema; get_queryset scopes by reader

    def get_queryset(self):
        user = self.request.user
        qs = Defect.objects.select_related("project").order_by("id")
        staff = scope_q(user, roles_with("staff"), "project__path")
        if staff is None:
            return qs
        q = staff | Q(reported_by=user)
        if getattr(user, "person_id", None):
            orgs = Membership.objects.filter(person_id=user.person_id, until__isnull=True).values("organization_id")
            q |= Q(project__contractor_id__in=orgs) | Q(project__supervisor_id__in=orgs)
        return qs.filter(q)

    @extend_schema(
        request=DefectInSerializer, responses={201: DefectSerializer, **error_responses(400, 401, 403, 404, 409)}
    )
    def create(self, request):
        data = DefectInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        p = get_object_or_404(selectors.visible_projects(request.user), pk=d["project"])
        check(request.user, "renovation.report_defect", p, view_perm="renovation.view_project")
        work = p.work_items.filter(pk=d.get("work_item")).first() if d.get("work_item") else None

        location = AreaNode.objects.filter(pk=d.get("location")).first() if d.get("location") else None
        person = Person.objects.filter(pk=d.get("on_behalf_of")).first() if d.get("on_behalf_of") else None
        plan = None
        if d.get("plan"):
            plan = Plan.objects.filter(pk=d["plan"]).first()
            if plan is None or plan.project_id != p.pk:
                return renovation_error(
                    RenovationError("平面图不属于本项目", "the plan is not one of this project's", field="plan")
                )
        try:
            defect = actions.report_defect(
                p,
                actor=request.user,
                source=d["source"],
                description=d["description"],
                deadline=d["deadline"],
                work_item=work,
                location=location,
                spot=d["spot"],
                floor=d.get("floor"),
                plan=plan,
                plan_xy=(d.get("plan_x"), d.get("plan_y")),
                on_behalf_of=person,
            )
        except RenovationError as exc:
            return renovation_error(exc)
        return Response(DefectSerializer(defect).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ResolveInSerializer, responses={200: DefectSerializer, **error_responses(400, 401, 403, 404, 409)}
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        defect = self.get_object()
        data = ResolveInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            actions.resolve_defect(defect, actor=request.user, note=data.validated_data["note"])
        except RenovationError as exc:
            return renovation_error(exc)
        return Response(DefectSerializer(defect).data)

    @extend_schema(request=None, responses={200: DefectSerializer, **error_responses(401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        defect = self.get_object()
        try:
            actions.close_defect(defect, actor=request.user)
        except RenovationError as exc:
            return renovation_error(exc)
        return Response(DefectSerializer(defect).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("project", int, description="only this project's plans")],
        responses={200: PlanSerializer(many=True), **error_responses(401, 403)},
    ),
    retrieve=extend_schema(responses={200: PlanSerializer, **error_responses(401, 403, 404)}),
)
class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """平面图 — the plans of the projects the reader sees (defects are placed on them); a project's officers
    upload new ones (multipart, the picture in `image`)."""

    permission_classes = [GatePermission]
    gate_perms = {
        "list": "renovation.view_menu",
        "retrieve": "renovation.view_plan",
        "create": "renovation.view_menu",  # then renovation.upload_plan on the project
    }
    serializer_class = PlanSerializer
    pagination_class = KeyCursorPagination
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    queryset = Plan.objects.none()  # for the schema; get_queryset scopes by reader

    def get_queryset(self):
        qs = Plan.objects.filter(project__in=selectors.visible_projects(self.request.user).values("pk"))
        project = self.request.query_params.get("project", "")
        if project.isdigit():
            qs = qs.filter(project_id=int(project))
        return qs.select_related("building").order_by("id")

    @extend_schema(
        request={"multipart/form-data": PlanInSerializer},
        responses={201: PlanSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def create(self, request):
        # The project first: one the reader may not upload to is refused before the picture is looked at.
        project_id = str(request.data.get("project") or "")
        if not project_id.isdigit():
            return renovation_error(RenovationError("请指定项目", "give the project", field="project"))
        p = get_object_or_404(selectors.visible_projects(request.user), pk=int(project_id))
        check(request.user, "renovation.upload_plan", p, view_perm="renovation.view_project")
        data = PlanInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        building = None
        if d.get("building"):
            building = AreaNode.objects.filter(pk=d["building"]).first()
            if building is None:
                return renovation_error(RenovationError("楼栋不存在", "no such building", field="building"))
        try:
            plan = actions.upload_plan(
                p,
                actor=request.user,
                title=d["title"],
                building=building,
                floor=d.get("floor"),
                image=(d["image"].read(), d["image"].name),
            )
        except RenovationError as exc:
            return renovation_error(exc)
        return Response(PlanSerializer(plan).data, status=status.HTTP_201_CREATED)


class DefectAnswerViewSet(viewsets.ViewSet):
    """The contractor's token link as an API: no account, the token is the authority."""

    permission_classes = [GatePermission]
    gate_perms = {"create": None}
    lookup_value_regex = "[A-Za-z0-9_-]{16,64}"

    @extend_schema(
        request=inline_serializer(
            name="TokenAnswer",
            fields={"token": serializers.CharField(), "name": serializers.CharField(), "note": serializers.CharField()},
        ),
        responses={200: DefectSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def create(self, request):
        data = TokenAnswerInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            defect = actions.resolve_defect_by_token(
                str(request.data.get("token") or ""),
                name=data.validated_data["name"],
                note=data.validated_data["note"],
            )
        except RenovationError as exc:
            return renovation_error(exc)
        return Response(DefectSerializer(defect).data)


def register(router) -> None:
    """Add this part's viewsets to the API router."""
    router.register("renovation/menu-items", MenuItemViewSet, basename="renovation-menu-item")
    router.register("renovation/projects", ProjectViewSet, basename="renovation-project")
    router.register("renovation/work-items", WorkItemViewSet, basename="renovation-work-item")
    router.register("renovation/defects", DefectViewSet, basename="renovation-defect")
    router.register("renovation/plans", PlanViewSet, basename="renovation-plan")
    router.register("renovation/defect-answers", DefectAnswerViewSet, basename="renovation-defect-answer")
