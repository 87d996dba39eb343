"""Bulky-waste JSON API (/api/v1/bulky/…).

GET  catalogue/                     the item catalogue with each item's sizing decision (public)
POST check-item/                    is this item bulky waste, and if not where does it go (public)
GET  availability/?area=&from=      bookable days with what is left (signed in)
GET  bookings/                      the caller's own bookings, and those of their scope for staff (keyset pages)
POST bookings/                      book (resident for themself; operator/property manager for a resident or
                                    compound); `Idempotency-Key` header: a retry returns the first booking (200)
GET  bookings/{reference}/          one booking; PATCH amends it; POST bookings/{reference}/cancel/ cancels it
POST dumping-reports/               report illegal dumping (anyone; rate-limited)
GET  stops/{id}/                    a crew member's stop; POST stops/{id}/mark/ marks one item (multipart photo)

Errors name the field, Chinese first: {"status", "message", "message_en", "errors": [{"field", ...}]}.
"""

from __future__ import annotations

from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from gongzhi.bulkywaste import actions, selectors, sizing
from gongzhi.bulkywaste.actions import BookingError, DuplicateBooking, ItemSpec
from gongzhi.bulkywaste.limits import REPORTS_PER_HOUR, client_key
from gongzhi.bulkywaste.models import (
    DATUM,
    Booking,
    BookingItem,
    CatalogueEntry,
    Channel,
    RoundStop,
    ServiceArea,
    Window,
)
from gongzhi.core import limits, pii
from gongzhi.core.api import GENERIC, KeyCursorPagination, error_responses
from gongzhi.core.gate import GatePermission
from gongzhi.core.idempotency import replay
from gongzhi.core.ids import parse_id
from gongzhi.core.roles import roles_with
from gongzhi.core.rules import scope_q
from gongzhi.registry.models import AreaNode, Person, Unit

# Operations open to anyone are still asked of the gate (declared `None` in `gate_perms`); AllowAny beside it
# decides nothing (it always passes) and tells the OpenAPI document that these need no sign-in.
OPEN = [GatePermission, AllowAny]


def invalid(e: BookingError) -> ValidationError:
    return ValidationError({e.field or "non_field_errors": [f"{e.zh} / {e.en}"]})


def _msg(zh: str, en: str) -> str:
    return f"{zh} / {en}"


DECIMAL = {
    "max_digits": 8,
    "decimal_places": 3,
    "required": False,
    "allow_null": True,
    "min_value": 0,
    "error_messages": {
        "invalid": _msg("应为数字", "must be a number"),
        "min_value": _msg("不能为负数", "must not be negative"),
        "max_digits": _msg("数值过大", "too large"),
        "max_decimal_places": _msg("小数位过多", "too many decimal places"),
    },
}


class ItemIn(serializers.Serializer):
    code = serializers.SlugField(required=False, help_text="catalogue code, e.g. three_seat_sofa")
    description = serializers.CharField(required=False, max_length=100)
    category = serializers.ChoiceField(
        choices=[c.code for c in sizing.Category],
        required=False,
        error_messages={"invalid_choice": _msg("类别无效", "unknown category")},
    )
    quantity = serializers.IntegerField(
        default=1,
        min_value=1,
        max_value=500,
        error_messages={
            "invalid": _msg("数量应为整数", "quantity must be an integer"),
            "min_value": _msg("数量至少为1", "quantity must be at least 1"),
            "max_value": _msg("数量最多500", "quantity must be at most 500"),
        },
    )
    weight_kg = serializers.DecimalField(**DECIMAL)
    volume_m3 = serializers.DecimalField(**DECIMAL)
    length_m = serializers.DecimalField(**DECIMAL)
    integral = serializers.BooleanField(default=True)

    def validate(self, data):
        if not data.get("code") and not data.get("description"):
            raise ValidationError({"code": [_msg("请给出物品代码或名称", "give a catalogue code or a description")]})
        if not data.get("code") and not data.get("category"):
            raise ValidationError({"category": [_msg("自填物品须选择类别", "a described item needs a category")]})
        return data


def to_spec(data: dict, entries: dict[str, CatalogueEntry], n: int = 0) -> ItemSpec:
    entry = None
    if data.get("code"):
        entry = entries.get(data["code"])
        if entry is None:
            raise ValidationError({f"items[{n}].code": [_msg("物品清单中没有这个代码", "no such catalogue code")]})
    return ItemSpec(
        entry=entry,
        description=(data.get("description") or "").strip(),
        category=data.get("category") or "",
        quantity=data.get("quantity", 1),
        weight_kg=data.get("weight_kg"),
        volume_m3=data.get("volume_m3"),
        length_m=data.get("length_m"),
        integral=data.get("integral", True),
    )


def _entries(items: list[dict]) -> dict[str, CatalogueEntry]:
    codes = [i["code"] for i in items if i.get("code")]
    return CatalogueEntry.objects.filter(active=True).in_bulk(codes, field_name="code") if codes else {}


class DecisionOut(serializers.Serializer):
    is_bulky = serializers.BooleanField()
    route = serializers.CharField(help_text="bulky, e_waste, kitchen, recyclable, hazardous or other")
    route_label = serializers.CharField()
    route_label_en = serializers.CharField()
    category = serializers.CharField()
    exceeded = serializers.ListField(child=serializers.CharField(), help_text="weight_kg, volume_m3, length_m")
    reason = serializers.CharField()
    reason_en = serializers.CharField()


def decision_data(d: sizing.SizingDecision) -> dict:
    return {
        "is_bulky": d.is_bulky,
        "route": d.route.code,
        "route_label": d.route.label_zh,
        "route_label_en": d.route.label_en,
        "category": d.category.code,
        "exceeded": [m.value for m in d.exceeded],
        "reason": d.reason_zh,
        "reason_en": d.reason_en,
    }


class CatalogueOut(serializers.ModelSerializer):
    decision = serializers.SerializerMethodField()

    class Meta:
        model = CatalogueEntry
        fields = [
            "id",
            "code",
            "name",
            "name_en",
            "category",
            "typical_weight_kg",
            "typical_volume_m3",
            "typical_length_m",
            "price",
            "decision",
        ]

    def get_decision(self, obj) -> DecisionOut:
        return decision_data(obj.decision())


@extend_schema_view(list=extend_schema(responses={200: CatalogueOut(many=True), **error_responses(400)}))
class CatalogueViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """常见物品 — what residents can pick, each with whether it is bulky waste and where it goes otherwise."""

    permission_classes = OPEN
    gate_perms = {"list": None}  # public
    serializer_class = CatalogueOut
    pagination_class = KeyCursorPagination
    queryset = CatalogueEntry.objects.filter(active=True)


class CheckItemViewSet(viewsets.GenericViewSet):
    """物品判定 — Zhengzhou's rule (bulky category AND whole AND > 5 kg or > 0.2 m³ or > 1 m)."""

    permission_classes = OPEN
    gate_perms = {"create": None}  # public: nothing is written
    serializer_class = ItemIn

    @extend_schema(request=ItemIn, responses={200: DecisionOut, **error_responses(400)})
    def create(self, request):
        s = ItemIn(data=request.data)
        s.is_valid(raise_exception=True)
        spec = to_spec(s.validated_data, _entries([s.validated_data]))
        try:
            d = actions.decide(spec)
        except BookingError as e:
            raise invalid(e) from None
        return Response(decision_data(d))


class DayOut(serializers.Serializer):
    day = serializers.DateField()
    stops_left = serializers.IntegerField()
    volume_left = serializers.IntegerField(help_text="litres")
    fits = serializers.BooleanField()


class AvailabilityViewSet(viewsets.GenericViewSet):
    """可预约日期 — the days an area takes bookings, with what is left (never an overbooked day)."""

    permission_classes = [GatePermission]
    gate_perms = {"list": "bulkywaste.book_own"}
    serializer_class = DayOut
    pagination_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter("area", OpenApiTypes.INT, required=True, description="收运片区编号 / service area id"),
            OpenApiParameter("from", OpenApiTypes.DATE, description="从此日起 / from this day"),
            OpenApiParameter("volume", OpenApiTypes.INT, description="所需体积（升） / litres needed"),
        ],
        responses={200: DayOut(many=True), **error_responses(400, 401, 403, 404)},
    )
    def list(self, request):
        raw = request.query_params.get("area")
        pk = parse_id(raw)
        if pk is None:
            raise ValidationError({"area": [_msg("请给出收运片区编号", "area (a service area id) is required")]})
        area = ServiceArea.objects.filter(pk=pk, active=True).first()
        if area is None:
            raise NotFound()
        start = request.query_params.get("from")
        start_day = selectors.parse_day(start) if start else None
        if start and start_day is None:
            raise ValidationError({"from": [_msg("日期格式应为YYYY-MM-DD", "from must be a date YYYY-MM-DD")]})
        volume = parse_id(request.query_params.get("volume")) or 0
        rows = [r for r in actions.availability(area, volume=volume) if start_day is None or r["day"] >= start_day]
        return Response(DayOut(rows, many=True).data)


class ItemOut(serializers.ModelSerializer):
    class Meta:
        model = BookingItem
        fields = [
            "id",
            "description",
            "category",
            "quantity",
            "weight_kg",
            "volume_m3",
            "length_m",
            "outcome",
            "collected_weight_kg",
        ]


class BookingOut(serializers.ModelSerializer):
    items = ItemOut(many=True, read_only=True)
    contact_name = serializers.SerializerMethodField()
    contact_phone = serializers.SerializerMethodField()
    datum = serializers.SerializerMethodField(help_text="坐标系 / datum of latitude and longitude")

    class Meta:
        model = Booking
        fields = [
            "id",
            "reference",
            "status",
            "day",
            "window",
            "window_start",
            "window_end",
            "address",
            "latitude",
            "longitude",
            "datum",
            "contact_name",
            "contact_phone",
            "notes",
            "channel",
            "urgent",
            "fee",
            "item_count",
            "volume_litres",
            "planned_eta",
            "items",
            "created_at",
        ]

    def _contact(self, obj) -> tuple[str, str]:
        return selectors.contact_for(self.context["request"].user, obj)

    def get_contact_name(self, obj) -> str:
        return self._contact(obj)[0]

    def get_contact_phone(self, obj) -> str:
        return self._contact(obj)[1]

    def get_datum(self, obj) -> str:
        return DATUM


class BookingIn(serializers.Serializer):
    items = ItemIn(many=True, allow_empty=False)
    unit = serializers.IntegerField(required=False, min_value=1, help_text="registry unit id")
    compound = serializers.IntegerField(required=False, min_value=1, help_text="compound node id (property booking)")
    node = serializers.IntegerField(required=False, min_value=1, help_text="area node of a free-text address")
    address = serializers.CharField(required=False, max_length=200)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, help_text="WGS-84")
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, help_text="WGS-84")
    preferred_days = serializers.ListField(child=serializers.DateField(), required=False, max_length=7)
    window = serializers.ChoiceField(choices=Window.values, default=Window.MORNING)
    window_start = serializers.TimeField(required=False)
    window_end = serializers.TimeField(required=False)
    contact_name = serializers.CharField(max_length=50)
    contact_phone = serializers.CharField(max_length=20)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=300)
    on_behalf_of = serializers.IntegerField(required=False, min_value=1, help_text="person id (proxy booking)")
    channel = serializers.ChoiceField(
        choices=[Channel.WEB, Channel.HOTLINE, Channel.PROPERTY, Channel.API], required=False
    )
    on_duplicate = serializers.ChoiceField(
        choices=["", "continue", "merge"],
        required=False,
        default="",
        help_text="该地址同一时段已有预约时：merge 合并物品到已有预约（返回它，200），continue 仍然新建；不给则 400 "
        "（字段 on_duplicate）/ when the address already has a booking in the same half-day: merge the items into it "
        "(returned, 200) or continue to book anyway; without it the answer is 400 naming on_duplicate",
    )


class AmendIn(serializers.Serializer):
    day = serializers.DateField(required=False)
    window = serializers.ChoiceField(choices=Window.values, required=False)
    window_start = serializers.TimeField(required=False)
    window_end = serializers.TimeField(required=False)
    contact_name = serializers.CharField(required=False, max_length=50)
    contact_phone = serializers.CharField(required=False, max_length=20)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=300)
    items = ItemIn(many=True, required=False, allow_empty=False)


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="重试时使用同一个键，不会重复预约 / reuse on retry: the first booking is returned (200)",
)


def _valid(cls, data, **kw) -> dict:
    s = cls(data=data, **kw)
    s.is_valid(raise_exception=True)
    return s.validated_data


@extend_schema_view(
    list=extend_schema(responses={200: BookingOut(many=True), **error_responses(401, 403)}),
    retrieve=extend_schema(responses={200: BookingOut, **error_responses(401, 403, 404)}),
)
class BookingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """预约 — own bookings, and for staff those of their scope."""

    permission_classes = [GatePermission]
    # One booking: `get_object` answers 404 unless the reader may view it; whether they may change or cancel it is
    # decided by the action on the object (400 for a closed booking, 403 otherwise), as on the pages.
    gate_perms = {
        "list": "bulkywaste.book_own",
        "create": "bulkywaste.book_own",
        "retrieve": "bulkywaste.view_booking",
        "partial_update": "bulkywaste.change_booking",
        "cancel": "bulkywaste.book_own",
    }
    serializer_class = BookingOut
    pagination_class = KeyCursorPagination
    lookup_field = "reference"
    queryset = Booking.objects.none()

    def get_queryset(self):
        user = self.request.user
        q = Q(booked_by=user)
        if user.person_id:
            q |= Q(on_behalf_of_id=user.person_id)
        staff = scope_q(user, roles_with("bulkywaste.book_for"), "path")
        if staff is None:
            q = Q()
        else:
            q |= staff
        return Booking.objects.filter(q).prefetch_related("items")

    def get_object(self):
        booking = get_object_or_404(Booking.objects.prefetch_related("items"), reference=self.kwargs["reference"])
        if not self.request.user.has_perm("bulkywaste.view_booking", booking):
            raise NotFound()
        return booking

    def _address(self, d: dict) -> actions.Address:
        if d.get("unit"):
            unit = Unit.objects.select_related("compound", "node").filter(pk=d["unit"]).first()
            if unit is None:
                raise ValidationError({"unit": [_msg("没有这个房屋", "no such unit")]})
            return actions.address_of_unit(unit)
        if d.get("compound"):
            node = AreaNode.objects.filter(pk=d["compound"], level__is_compound=True).first()
            if node is None:
                raise ValidationError({"compound": [_msg("没有这个楼院", "no such compound")]})
            return actions.address_of_compound(node)
        if not d.get("node") or d.get("latitude") is None or d.get("longitude") is None:
            raise ValidationError(
                {
                    "unit": [
                        _msg("请给出房屋，或地址、所在区域和坐标", "give a unit, or an address, node and coordinates")
                    ]
                }
            )
        node = AreaNode.objects.filter(pk=d["node"]).first()
        if node is None:
            raise ValidationError({"node": [_msg("没有这个区域", "no such area node")]})
        return actions.free_address(d.get("address", ""), d["latitude"], d["longitude"], node)

    @extend_schema(
        request=BookingIn,
        parameters=[IDEMPOTENCY],
        responses={201: BookingOut, 200: BookingOut, **error_responses(400, 401, 403)},
    )
    def create(self, request):
        d = _valid(BookingIn, request.data)
        key = (request.headers.get("Idempotency-Key") or "").strip()
        if len(key) > 64:
            raise ValidationError(
                {"Idempotency-Key": [_msg("幂等键最多64个字符", "Idempotency-Key is at most 64 characters")]}
            )
        existing = replay(Booking.objects.filter(booked_by=request.user), key)
        if existing is not None:
            return Response(BookingOut(existing, context={"request": request}).data, status=status.HTTP_200_OK)
        entries = _entries(d["items"])
        specs = [to_spec(item, entries, n) for n, item in enumerate(d["items"])]
        person = None
        if d.get("on_behalf_of"):
            person = Person.objects.filter(pk=d["on_behalf_of"]).first()
            if person is None:
                raise ValidationError({"on_behalf_of": [_msg("没有这位居民", "no such person")]})
        channel = d.get("channel") or (
            Channel.PROPERTY if d.get("compound") else Channel.HOTLINE if person else Channel.WEB
        )
        try:
            address = self._address(d)
            booking = actions.book(
                actor=request.user,
                channel=channel,
                items=specs,
                address=address,
                preferred_days=d.get("preferred_days", []),
                window=d["window"],
                window_start=d.get("window_start"),
                window_end=d.get("window_end"),
                contact_name=d["contact_name"],
                contact_phone=d["contact_phone"],
                notes=d.get("notes", ""),
                on_behalf_of=person,
                idempotency_key=key,
                on_duplicate="continue" if d["on_duplicate"] == "continue" else "",
            )
        except DuplicateBooking as e:
            if d["on_duplicate"] != "merge":
                raise invalid(e) from None
            try:
                merged = actions.merge_into(
                    e.existing[0], actor=request.user, items=specs, notes=d.get("notes", ""), channel=Channel.API
                )
            except BookingError as e2:
                raise invalid(e2) from None
            merged = Booking.objects.prefetch_related("items").get(pk=merged.pk)
            return Response(BookingOut(merged, context={"request": request}).data, status=status.HTTP_200_OK)
        except BookingError as e:
            raise invalid(e) from None
        return Response(BookingOut(booking, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AmendIn, responses={200: BookingOut, **error_responses(400, 401, 403, 404)})
    def partial_update(self, request, reference=None):
        booking = self.get_object()
        d = _valid(AmendIn, request.data)
        items = None
        if "items" in d:
            entries = _entries(d["items"])
            items = [to_spec(item, entries, n) for n, item in enumerate(d["items"])]
        try:
            booking = actions.amend_booking(
                booking,
                actor=request.user,
                day=d.get("day"),
                window=d.get("window"),
                window_start=d.get("window_start"),
                window_end=d.get("window_end"),
                contact_name=d.get("contact_name"),
                contact_phone=d.get("contact_phone"),
                notes=d.get("notes"),
                items=items,
                channel=Channel.API,
            )
        except BookingError as e:
            raise invalid(e) from None
        return Response(
            BookingOut(Booking.objects.prefetch_related("items").get(pk=booking.pk), context={"request": request}).data
        )

    @extend_schema(request=CancelIn, responses={200: BookingOut, **error_responses(400, 401, 403, 404)})
    @action(detail=True, methods=["post"])
    def cancel(self, request, reference=None):
        booking = self.get_object()
        d = _valid(CancelIn, request.data)
        try:
            booking = actions.cancel_booking(
                booking, actor=request.user, reason=d.get("reason", ""), channel=Channel.API
            )
        except BookingError as e:
            raise invalid(e) from None
        return Response(
            BookingOut(Booking.objects.prefetch_related("items").get(pk=booking.pk), context={"request": request}).data
        )


class DumpingIn(serializers.Serializer):
    description = serializers.CharField(max_length=1000)
    node = serializers.IntegerField(required=False, min_value=1, help_text="community (area node) id")
    address = serializers.CharField(required=False, allow_blank=True, max_length=200)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, help_text="WGS-84")
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, help_text="WGS-84")
    photo = serializers.ImageField(required=False)
    reporter_phone = serializers.CharField(required=False, allow_blank=True, max_length=20)


class DumpingOut(serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.CharField()
    service_code = serializers.CharField()


class DumpingReportViewSet(viewsets.GenericViewSet):
    """乱丢大件垃圾举报 — from anyone, signed in or not; at most 5 an hour from one address."""

    permission_classes = OPEN
    gate_perms = {"create": None}  # anyone; rate-limited
    serializer_class = DumpingIn
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request=DumpingIn, responses={201: DumpingOut, **error_responses(400, 429)})
    def create(self, request):
        d = _valid(DumpingIn, request.data)
        key = client_key(request)
        if not limits.hit((key,), REPORTS_PER_HOUR, 3600).allowed:  # counted first, shared by every worker
            return Response(
                {"status": 429, "message": GENERIC[429][0], "message_en": GENERIC[429][1], "errors": []},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        node = None
        if d.get("node"):
            node = AreaNode.objects.filter(pk=d["node"]).first()
            if node is None:
                raise ValidationError({"node": [_msg("没有这个区域", "no such area node")]})
        photo = d.get("photo")
        try:
            report = actions.report_dumping(
                actor=request.user if request.user.is_authenticated else None,
                description=d["description"],
                node=node,
                address=d.get("address", ""),
                latitude=d.get("latitude"),
                longitude=d.get("longitude"),
                photo=(photo.read(), photo.name) if photo else None,
                reporter_phone=d.get("reporter_phone", ""),
            )
        except BookingError as e:
            raise invalid(e) from None
        return Response(
            {"reference": report.reference, "status": report.status, "service_code": report.SERVICE_CODE},
            status=status.HTTP_201_CREATED,
        )


class StopOut(serializers.ModelSerializer):
    reference = serializers.CharField(source="booking.reference")
    address = serializers.CharField(source="booking.address")
    latitude = serializers.DecimalField(source="booking.latitude", max_digits=9, decimal_places=6)
    longitude = serializers.DecimalField(source="booking.longitude", max_digits=9, decimal_places=6)
    contact_phone = serializers.SerializerMethodField()
    items = ItemOut(source="booking.items", many=True)

    class Meta:
        model = RoundStop
        fields = [
            "id",
            "order",
            "eta",
            "part",
            "parts",
            "reference",
            "address",
            "latitude",
            "longitude",
            "contact_phone",
            "items",
        ]

    def get_contact_phone(self, obj) -> str:
        return pii.mask_phone(obj.booking.contact_phone)


class MarkIn(serializers.Serializer):
    item = serializers.IntegerField(min_value=1)
    outcome = serializers.ChoiceField(choices=["collected", "not_found", "refused"])
    weight_kg = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, min_value=0)
    photo = serializers.ImageField(required=False)


@extend_schema_view(retrieve=extend_schema(responses={200: StopOut, **error_responses(401, 403, 404)}))
class StopViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """收运站点 — for the crew of the round (contact masked; open the stop on the page to see it)."""

    permission_classes = [GatePermission]
    gate_perms = {"retrieve": "bulkywaste.work_round", "mark": "bulkywaste.work_round"}
    serializer_class = StopOut
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    queryset = RoundStop.objects.none()

    def get_object(self):
        stop = get_object_or_404(
            RoundStop.objects.select_related("booking", "round__vehicle", "round__plan__area"), pk=self.kwargs["pk"]
        )
        if not self.request.user.has_perm("bulkywaste.work_round", stop.round):
            raise NotFound()
        return stop

    @extend_schema(request=MarkIn, responses={200: StopOut, **error_responses(400, 401, 403, 404)})
    @action(detail=True, methods=["post"])
    def mark(self, request, pk=None):
        stop = self.get_object()
        d = _valid(MarkIn, request.data)
        item = stop.booking.items.filter(pk=d["item"]).first()
        if item is None:
            raise ValidationError({"item": [_msg("该站点没有这件物品", "no such item at this stop")]})
        photo = d.get("photo")
        try:
            actions.mark_item(
                item,
                actor=request.user,
                outcome=d["outcome"],
                weight_kg=d.get("weight_kg"),
                photo=(photo.read(), photo.name) if photo else None,
            )
        except BookingError as e:
            raise invalid(e) from None
        except PermissionError:
            raise PermissionDenied() from None
        return Response(StopOut(self.get_object()).data)


def register(router):
    router.register("bulky/catalogue", CatalogueViewSet, basename="bulky-catalogue")
    router.register("bulky/check-item", CheckItemViewSet, basename="bulky-check-item")
    router.register("bulky/availability", AvailabilityViewSet, basename="bulky-availability")
    router.register("bulky/bookings", BookingViewSet, basename="bulky-booking")
    router.register("bulky/dumping-reports", DumpingReportViewSet, basename="bulky-dumping-report")
    router.register("bulky/stops", StopViewSet, basename="bulky-stop")
