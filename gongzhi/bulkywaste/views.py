"""Bulky-waste pages.

Residents: start → items → where → when → contact → photos → check answers → confirmation (one question per
page, a draft in the session, nothing written until the check page is submitted); their bookings, amend and
cancel. Staff: the hotline screen (find the caller, book on one page, read the summary back), the property
manager's compound booking, the dispatcher's day (plan / re-plan, urgent path, rounds), the crew's phone page,
the illegal-dumping queue and the figures. Anyone: the rating page (token) and the dumping report form.

Permissions are asked of `rules`; the actions check again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.bulkywaste import actions, selectors
from gongzhi.bulkywaste.actions import BookingError, ItemSpec
from gongzhi.bulkywaste.forms import (
    AmendForm,
    CatalogueItemForm,
    CompoundChoiceForm,
    ContactForm,
    CrewItemForm,
    DumpingForm,
    FreeAddressForm,
    OtherItemForm,
    PhotosForm,
    RatingForm,
    ResolveForm,
    StaffBookingForm,
    WhenForm,
    WhereForm,
    add_problems,
    day_label,
    problems,
)
from gongzhi.bulkywaste.inputs import BookingErrors, DuplicateBooking
from gongzhi.bulkywaste.limits import REPORTS_PER_HOUR, client_key
from gongzhi.bulkywaste.models import (
    Booking,
    CatalogueEntry,
    Channel,
    CostEntry,
    DayPlan,
    DumpingReport,
    Round,
    RoundStop,
    RoundUnload,
    ServiceArea,
)
from gongzhi.core import geo, limits, maps, pii
from gongzhi.core.gate import allows, check, gated_object, permission_required
from gongzhi.core.ids import parse_id
from gongzhi.core.roles import roles_with
from gongzhi.core.rules import scoped
from gongzhi.registry.models import AreaNode, Person, Unit

DRAFT = "gz_bulky_draft"


def _error(form, e: BookingError) -> None:
    add_problems(form, e)


def _booking(request, reference: str, perm: str = "bulkywaste.view_booking") -> Booking:
    """The booking, or 404 if absent or out of the reader's sight, 403 if they may see it but not do `perm`."""
    booking = get_object_or_404(Booking.objects.select_related("area", "unit", "compound"), reference=reference)
    check(request.user, perm, booking, view_perm="bulkywaste.view_booking")
    return booking


def amap_url(lat, lon, name: str) -> str:
    """An AMap (高德) marker link: the stored WGS-84 point converted to GCJ-02 at the edge, as Chinese maps need."""
    glat, glon = geo.wgs84_to_gcj02(float(lat), float(lon))
    from urllib.parse import quote

    return (
        f"https://uri.amap.com/marker?position={glon:.6f},{glat:.6f}&name={quote(name)}&coordinate=gaode&callnative=1"
    )


def read_back(booking: Booking) -> str:
    """The summary the operator reads to the caller before hanging up."""
    items = "、".join(f"{i.description}{i.quantity}件" for i in booking.items.all())
    return _(
        "已为您预约大件垃圾上门回收：%(items)s。地址：%(address)s。时间：%(day)s %(window)s。联系电话尾号%(tail)s。"
        "预约编号：%(ref)s。如需修改或取消，请在%(cutoff)s前致电%(hotline)s。费用：%(fee)s元。"
    ) % {
        "items": items,
        "address": booking.address,
        "day": day_label(booking.day),
        "window": booking.window_label,
        "tail": booking.contact_phone[-4:],
        "ref": booking.reference,
        "cutoff": f"{timezone.localtime(actions.cutoff(booking.area, booking.day)):%m-%d %H:%M}",
        "hotline": request_hotline(),
        "fee": booking.fee,
    }


def request_hotline() -> str:
    from django.conf import settings

    return settings.GONGZHI_HOTLINE


# ---------------------------------------------------------------------------------------------- residents


@require_GET
def start(request):
    """大件垃圾上门回收 — what counts as bulky, where other things go, and the way in."""
    entries = selectors.catalogue()
    bulky = [e for e in entries if e.decision().is_bulky]
    not_bulky = [(e, e.decision()) for e in entries if not e.decision().is_bulky]
    work = [
        (url, label)
        for url, label, perm in (
            ("bulkywaste:hotline", _("热线预约"), "bulkywaste.book_for_resident"),
            ("bulkywaste:compound", _("物业整院预约"), "bulkywaste.book_compound"),
            ("bulkywaste:staff_bookings", _("预约列表"), "bulkywaste.view_bookings"),
            ("bulkywaste:dispatch", _("收运调度"), "bulkywaste.dispatch"),
            ("bulkywaste:crew", _("收运路线"), "bulkywaste.view_crew_page"),
            ("bulkywaste:dumping", _("乱丢大件垃圾举报"), "bulkywaste.handle_dumping"),
            ("bulkywaste:figures", _("大件垃圾收运统计"), "bulkywaste.view_figures"),
        )
        if allows(request.user, perm)
    ]
    return render(request, "bulkywaste/start.html", {"bulky": bulky, "not_bulky": not_bulky, "work": work})


def _draft(request) -> dict:
    return request.session.get(DRAFT, {"items": []})


def _save(request, draft: dict) -> None:
    request.session[DRAFT] = draft
    request.session.modified = True


def _specs(draft: dict) -> list[ItemSpec]:
    entries = CatalogueEntry.objects.in_bulk(
        [i["code"] for i in draft.get("items", []) if i.get("code")], field_name="code"
    )
    out = []
    for i in draft.get("items", []):
        if i.get("code"):
            if i["code"] in entries:
                out.append(ItemSpec(entry=entries[i["code"]], quantity=i["quantity"]))
        else:
            out.append(
                ItemSpec(
                    description=i["description"],
                    category=i["category"],
                    quantity=i["quantity"],
                    weight_kg=Decimal(i["weight_kg"]) if i.get("weight_kg") else None,
                    volume_m3=Decimal(i["volume_m3"]) if i.get("volume_m3") else None,
                    length_m=Decimal(i["length_m"]) if i.get("length_m") else None,
                    integral=i.get("integral", True),
                )
            )
    return out


@require_http_methods(["GET", "POST"])
@permission_required("bulkywaste.book_own")
def book_items(request):
    """Step 1: what items. Each is checked as it is added; what is not bulky is refused with where it goes."""
    draft = _draft(request)
    pick = CatalogueItemForm(request.POST if request.POST.get("action") == "add" else None, prefix="pick")
    other = OtherItemForm(request.POST if request.POST.get("action") == "other" else None, prefix="other")
    if request.method == "POST":
        act = request.POST.get("action")
        if act == "remove":
            idx = parse_id(request.POST.get("index", "")) or 0
            items = draft.get("items", [])
            if 1 <= idx <= len(items):
                items.pop(idx - 1)
            _save(request, draft)
            return redirect("bulkywaste:book_items")
        if act == "continue":
            if draft.get("items"):
                return redirect("bulkywaste:book_where")
            pick = CatalogueItemForm({"pick-quantity": "1"}, prefix="pick")
            pick.is_valid()
            pick.errors["entry"] = pick.error_class([_("请至少添加一件物品")])
        form, spec, row = None, None, None
        if act == "add" and pick.is_valid():
            form = pick
            spec = ItemSpec(entry=pick.cleaned_data["entry"], quantity=pick.cleaned_data["quantity"])
            row = {"code": spec.entry.code, "quantity": spec.quantity}
        elif act == "other" and other.is_valid():
            form, spec = other, other.spec()
            row = {
                "description": spec.description,
                "category": spec.category,
                "quantity": spec.quantity,
                "weight_kg": str(spec.weight_kg) if spec.weight_kg is not None else "",
                "volume_m3": str(spec.volume_m3) if spec.volume_m3 is not None else "",
                "length_m": str(spec.length_m) if spec.length_m is not None else "",
                "integral": spec.integral,
            }
        if spec is not None:
            try:
                actions.check_items([spec])
            except BookingError as e:
                if form is pick:
                    add_problems(form, e, {p.field: "entry" for p in problems(e)})
                else:
                    form.add_problems(e)
            else:
                draft.setdefault("items", []).append(row)
                _save(request, draft)
                return redirect("bulkywaste:book_items")
    specs = _specs(draft)
    return render(
        request,
        "bulkywaste/book_items.html",
        {"pick": pick, "other": other, "items": specs, "step": 1, "error_form": pick if pick.errors else other},
    )


def _units_with_labels(units) -> list[tuple[Unit, str]]:
    return [(u, actions.address_of_unit(u).text) for u in units if u.compound_id]


def _community_nodes() -> list[AreaNode]:
    """Communities inside an active service area (bounded: a district has tens to a few hundred)."""
    q = None
    from django.db.models import Q

    for path in ServiceArea.objects.filter(active=True).values_list("path", flat=True):
        q = Q(path__startswith=path) if q is None else q | Q(path__startswith=path)
    if q is None:
        return []
    return list(AreaNode.objects.filter(q, level__code="community").order_by("path")[:500])


@require_http_methods(["GET", "POST"])
@permission_required("bulkywaste.book_own")
def book_where(request):
    """Step 2: where — the resident's own home, or another address with its coordinates."""
    draft = _draft(request)
    if not draft.get("items"):
        return redirect("bulkywaste:book_items")
    units = _units_with_labels(actions.units_of(request.user.person))
    nodes = _community_nodes()
    initial = {"place": str(draft["unit"]) if draft.get("unit") else ("other" if draft.get("address") else "")}
    initial.update({k: draft.get(k) for k in ("address", "node", "latitude", "longitude") if draft.get(k)})
    form = WhereForm(request.POST or None, units=units, nodes=nodes, initial=initial)
    q = (request.GET.get("q") or "").strip()[:60]
    found = selectors.search_units(q) if q else []
    if request.method == "POST" and request.POST.get("unit"):  # an address chosen from the registry search
        unit = get_object_or_404(
            Unit.objects.select_related("compound", "node"), pk=parse_id(request.POST["unit"]) or 0
        )
        try:
            actions.area_for(actions.address_of_unit(unit).path)
        except BookingError as e:
            messages.error(request, e.shown)
        else:
            draft.update(unit=unit.pk, address="", node="", latitude="", longitude="")
            _save(request, draft)
            return redirect("bulkywaste:book_when")
    elif request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if d["place"] == "other":
                node = next(n for n in nodes if str(n.pk) == d["node"])
                addr = actions.free_address(d["address"], *form.point(), node)
                actions.area_for(addr.path)
                draft.update(
                    unit=None,
                    address=addr.text,
                    node=d["node"],
                    latitude=str(addr.latitude),
                    longitude=str(addr.longitude),
                )
            else:
                unit = next(u for u, _label in units if str(u.pk) == d["place"])
                actions.area_for(actions.address_of_unit(unit).path)
                draft.update(unit=unit.pk, address="", node="", latitude="", longitude="")
        except BookingError as e:
            _error(form, e)
        else:
            _save(request, draft)
            return redirect("bulkywaste:book_when")
    return render(
        request,
        "bulkywaste/book_where.html",
        {
            "form": form,
            "step": 2,
            "title": _("在哪里上门收运？"),
            "back": reverse("bulkywaste:book_items"),
            "q": q,
            "found": [(u, actions.address_of_unit(u).text) for u in found],
            **_pick_context(),
        },
    )


def _pick_context() -> dict:
    """A map to pick a point on (only when a tile source is configured), centred on the first service area."""

    def centre() -> tuple[float, float] | None:
        area = ServiceArea.objects.filter(active=True).select_related("node").order_by("path").first()
        try:
            lat, lon = actions.approximate_location(area.node) if area else (None, None)
        except BookingError:
            return None
        return (float(lat), float(lon)) if lat is not None else None

    return maps.pick_context(centre)


def _draft_address(request, draft) -> actions.Address:
    if draft.get("unit"):
        unit = get_object_or_404(Unit.objects.select_related("compound", "node"), pk=draft["unit"])
        return actions.address_of_unit(unit)
    node = get_object_or_404(AreaNode, pk=draft.get("node") or 0)
    return actions.free_address(draft.get("address", ""), draft.get("latitude"), draft.get("longitude"), node)


@require_http_methods(["GET", "POST"])
@permission_required("bulkywaste.book_own")
def book_when(request):
    """Step 3: which day (only days with room are offered) and which half-day."""
    draft = _draft(request)
    if not draft.get("items"):
        return redirect("bulkywaste:book_items")
    if not (draft.get("unit") or draft.get("address")):
        return redirect("bulkywaste:book_where")
    area = actions.area_for(_draft_address(request, draft).path)
    volume = actions.load_of(_specs(draft))[0]
    days = [r["day"] for r in actions.availability(area, volume=volume) if r["fits"]][:14]
    form = WhenForm(request.POST or None, days=days, initial={"day": draft.get("day"), "window": draft.get("window")})
    if request.method == "POST" and form.is_valid():
        draft.update(day=form.cleaned_data["day"], window=form.cleaned_data["window"])
        _save(request, draft)
        return redirect("bulkywaste:book_contact")
    return render(
        request,
        "bulkywaste/question.html",
        {
            "form": form,
            "step": 3,
            "title": _("什么时候上门？"),
            "back": reverse("bulkywaste:book_where"),
            "no_days": not days,
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("bulkywaste.book_own")
def book_contact(request):
    """Step 4: who the crew should call."""
    draft = _draft(request)
    if not draft.get("day"):
        return redirect("bulkywaste:book_when")
    person = request.user.person
    initial = {
        "contact_name": draft.get("contact_name") or (person.name if person else request.user.display_name),
        "contact_phone": draft.get("contact_phone") or request.user.phone or (person.phone if person else ""),
    }
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            name, phone = actions.check_contact(form.cleaned_data["contact_name"], form.cleaned_data["contact_phone"])
        except BookingError as e:
            _error(form, e)
        else:
            draft.update(contact_name=name, contact_phone=phone)
            _save(request, draft)
            return redirect("bulkywaste:book_photos")
    return render(
        request,
        "bulkywaste/question.html",
        {"form": form, "step": 4, "title": _("怎么联系您？"), "back": reverse("bulkywaste:book_when")},
    )


@require_http_methods(["GET", "POST"])
@permission_required("bulkywaste.book_own")
def book_photos(request):
    """Step 5 (optional): photos of the items and a note for the crew."""
    draft = _draft(request)
    if not draft.get("contact_phone"):
        return redirect("bulkywaste:book_contact")
    form = PhotosForm(request.POST or None, request.FILES or None, initial={"notes": draft.get("notes", "")})
    if request.method == "POST" and form.is_valid():
        upload = request.FILES.get("photo")
        try:
            if upload is not None:
                if len(draft.get("photos", [])) >= actions.MAX_PHOTOS:
                    raise BookingError(_("最多上传5张照片"), "at most 5 photos", "photo")
                stored = actions.stash_photo(upload.read(), upload.name, actor=request.user)
                draft.setdefault("photos", []).append(stored.pk)
        except BookingError as e:
            _error(form, e)
        else:
            draft["notes"] = form.cleaned_data["notes"]
            _save(request, draft)
            if request.POST.get("action") == "more":
                return redirect("bulkywaste:book_photos")
            return redirect("bulkywaste:book_check")
    return render(
        request,
        "bulkywaste/book_photos.html",
        {"form": form, "step": 5, "photos": len(draft.get("photos", [])), "back": reverse("bulkywaste:book_contact")},
    )


@require_http_methods(["GET", "POST"])
@permission_required("bulkywaste.book_own")
def book_check(request):
    """Step 6: check answers (with the fee and the day that would be offered now), then book."""
    draft = _draft(request)
    if not draft.get("contact_phone"):
        return redirect("bulkywaste:book_contact")
    specs = _specs(draft)
    address = _draft_address(request, draft)
    area = actions.area_for(address.path)
    day = date.fromisoformat(draft["day"])
    fee, mode = actions.fee_for(specs, day)
    duplicate = None
    if request.method == "POST" and request.POST.get("merge_into"):
        target = _merge_target(request)
        try:
            merged = actions.merge_into(
                target, actor=request.user, items=specs, notes=draft.get("notes", ""), channel=Channel.WEB
            )
        except BookingError as e:
            messages.error(request, e.shown)
        else:
            request.session.pop(DRAFT, None)
            messages.success(request, _("物品已合并到预约 %(ref)s") % {"ref": merged.reference})
            return redirect("bulkywaste:booking", reference=merged.reference)
    elif request.method == "POST":
        try:
            booking = actions.book(
                actor=request.user,
                channel=Channel.WEB,
                items=specs,
                address=address,
                preferred_days=[day],
                exact_day=True,
                window=draft["window"],
                contact_name=draft["contact_name"],
                contact_phone=draft["contact_phone"],
                notes=draft.get("notes", ""),
                upload_ids=draft.get("photos", []),
                idempotency_key=request.POST.get("idempotency_key", ""),
                on_duplicate=request.POST.get("on_duplicate", ""),
            )
        except DuplicateBooking as e:
            duplicate = _duplicate_context(request, e)
        except BookingError as e:
            messages.error(request, e.shown)
            if e.field in ("preferred_days", "day"):
                return redirect("bulkywaste:book_when")  # the day went meanwhile: choose again
        else:
            request.session.pop(DRAFT, None)
            return redirect("bulkywaste:booking_done", reference=booking.reference)
    offered = actions.first_free_day(area, actions.load_of(specs)[0], [day])
    return render(
        request,
        "bulkywaste/book_check.html",
        {
            "draft": draft,
            "items": specs,
            "address": address,
            "day": day_label(day),
            "offered": day_label(offered) if offered and offered != day else None,
            "window": dict(WhenForm.base_fields["window"].choices).get(draft["window"], draft["window"]),
            "fee": fee,
            "fee_mode": mode,
            "photos": len(draft.get("photos", [])),
            "idempotency_key": uuid.uuid4().hex,
            "duplicate": duplicate,
        },
    )


def _duplicate_context(request, e: DuplicateBooking) -> dict:
    """The warning of a second booking for the same address and half-day: the existing ones (linked only where
    the reader may open them) and whether the new items may be merged into one."""
    return {
        "message": e.shown,
        "existing": [
            {
                "booking": b,
                "visible": allows(request.user, "bulkywaste.view_booking", b),
                "mergeable": allows(request.user, "bulkywaste.change_booking", b),
            }
            for b in e.existing
        ],
    }


def _merge_target(request) -> Booking:
    """The booking chosen to merge into (the reader must be allowed to change it)."""
    booking = get_object_or_404(
        Booking.objects.select_related("area"), reference=(request.POST.get("merge_into") or "")[:20]
    )
    check(request.user, "bulkywaste.change_booking", booking, view_perm="bulkywaste.view_booking")
    return booking


@require_GET
@permission_required(None)
def booking_done(request, reference: str):
    booking = _booking(request, reference)
    return render(
        request, "bulkywaste/done.html", {"booking": booking, "cutoff": actions.cutoff(booking.area, booking.day)}
    )


@require_GET
@permission_required(None)
def booking_detail(request, reference: str):
    booking = _booking(request, reference)
    name, phone = selectors.contact_for(request.user, booking)
    can_change = allows(request.user, "bulkywaste.change_booking", booking)
    before_cutoff = timezone.now() < actions.cutoff(booking.area, booking.day)
    return render(
        request,
        "bulkywaste/booking.html",
        {
            "booking": booking,
            "items": list(booking.items.select_related("entry")),
            "contact_name": name,
            "contact_phone": phone,
            "can_change": can_change and (before_cutoff or allows(request.user, "bulkywaste.dispatch", booking.area)),
            "can_reveal": allows(request.user, "registry.view_person_unmasked", booking),
            "cutoff": actions.cutoff(booking.area, booking.day),
            "stops": list(booking.stops.select_related("round__vehicle").order_by("eta")),
            "costs": [
                {"kind": CostEntry.Kind(r["kind"]).label, "total": r["total"]}
                for r in booking.costs.values("kind").annotate(total=Sum("amount")).order_by("kind")
            ]
            if allows(request.user, "bulkywaste.view_figures", booking)
            else [],
            "staff": allows(request.user, "bulkywaste.view_bookings", booking),
        },
    )


@require_POST
@permission_required(None)
def booking_reveal(request, reference: str):
    booking = _booking(request, reference)
    contact = actions.reveal_contact(booking, actor=request.user)
    return render(request, "bulkywaste/reveal.html", {"booking": booking, "contact": contact})


@require_http_methods(["GET", "POST"])
@permission_required(None)
def booking_amend(request, reference: str):
    booking = _booking(request, reference, "bulkywaste.change_booking")
    days = actions.serving_days(booking.area)
    if booking.day not in days:
        days = [booking.day, *days]
    form = AmendForm(
        request.POST or None,
        days=days,
        entries=selectors.catalogue(),
        items=list(booking.items.select_related("entry").order_by("pk")),
        initial={"day": booking.day.isoformat(), "window": booking.window, "notes": booking.notes},
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            actions.amend_booking(
                booking,
                actor=request.user,
                day=date.fromisoformat(d["day"]),
                window=d["window"],
                notes=d["notes"],
                items=form.specs() if form.items_changed() else None,
                channel=_amend_channel(request.user, booking),
            )
        except BookingError as e:
            _error(form, e)
        else:
            messages.success(request, _("预约已修改"))
            return redirect("bulkywaste:booking", reference=reference)
    return render(request, "bulkywaste/amend.html", {"booking": booking, "form": form})


def _amend_channel(user, booking: Booking) -> str:
    if booking.booked_by_id == user.pk or (user.person_id and booking.on_behalf_of_id == user.person_id):
        return Channel.WEB
    return Channel.HOTLINE


@require_http_methods(["GET", "POST"])
@permission_required(None)
def booking_cancel(request, reference: str):
    booking = _booking(request, reference, "bulkywaste.change_booking")
    if request.method == "POST":
        try:
            actions.cancel_booking(
                booking,
                actor=request.user,
                reason=request.POST.get("reason", "")[:300],
                channel=_amend_channel(request.user, booking),
            )
        except BookingError as e:
            messages.error(request, e.shown)
            return redirect("bulkywaste:booking", reference=reference)
        messages.success(request, _("预约已取消"))
        return redirect("bulkywaste:booking", reference=reference)
    return render(request, "bulkywaste/cancel.html", {"booking": booking})


@require_GET
@permission_required("bulkywaste.book_own")
def my_bookings(request):
    after = parse_id(request.GET.get("after"))
    rows = selectors.own_bookings(request.user, after)
    return render(
        request,
        "bulkywaste/mine.html",
        {"bookings": rows, "next_after": rows[-1].pk if len(rows) == selectors.PAGE else None},
    )


# ------------------------------------------------------------------------------------ staff booking pages


def _staff_form(request, *, area, people=(), urgent=False):
    days = [r["day"] for r in actions.availability(area) if r["fits"]][:21] if area else []
    initial = {}
    return StaffBookingForm(
        request.POST or None,
        entries=selectors.catalogue(),
        days=days,
        people=people,
        urgent=urgent,
        initial=initial,
        prefix="b",
    )


def _staff_book(request, form, *, address, channel, on_behalf_of=None):
    """Preview (offered day, fee) or book from the dense staff form. Returns (booking, preview)."""
    d = form.cleaned_data
    specs = form.specs()
    area = actions.area_for(address.path)
    preferred = [date.fromisoformat(d["day"])] if d.get("day") else []
    problems = actions.item_problems(specs)
    try:
        actions.check_contact(d["contact_name"], d["contact_phone"])
    except BookingError as e:
        problems.append(e)
    if problems:  # every problem at once, each on its row and column
        form.add_problems(BookingErrors(problems))
        return None, None
    volume = actions.load_of(specs)[0]
    offered = actions.first_free_day(area, volume, preferred)
    merging = bool(request.POST.get("merge_into"))
    if request.POST.get("action") != "book" and not merging and request.POST.get("on_duplicate") != "continue":
        fee = actions.fee_for(specs, offered)[0] if offered else None
        preview = {"offered": day_label(offered) if offered else None, "fee": fee, "volume": volume, "specs": specs}
        if offered:
            try:
                start, end = actions.window_times(d["window"], d.get("window_start"), d.get("window_end"))
            except BookingError:
                start = end = None
            twins = selectors.same_address_bookings(address.path, address.text, offered, start, end) if start else []
            if twins:
                preview["duplicate"] = _duplicate_context(request, DuplicateBooking(twins))
        return None, preview
    if merging:
        target = _merge_target(request)
        try:
            booking = actions.merge_into(
                target,
                actor=request.user,
                items=specs,
                notes=d.get("notes", ""),
                on_behalf_of=on_behalf_of,
                channel=channel,
            )
        except BookingError as e:
            form.add_problems(e)
            return None, None
        messages.success(request, _("物品已合并到预约 %(ref)s") % {"ref": booking.reference})
        return booking, None
    try:
        booking = actions.book(
            actor=request.user,
            channel=channel,
            items=specs,
            address=address,
            preferred_days=preferred,
            window=d["window"],
            window_start=d.get("window_start"),
            window_end=d.get("window_end"),
            contact_name=d["contact_name"],
            contact_phone=d["contact_phone"],
            notes=d.get("notes", ""),
            on_behalf_of=on_behalf_of,
            idempotency_key=request.POST.get("idempotency_key", ""),
            on_duplicate=request.POST.get("on_duplicate", ""),
        )
    except DuplicateBooking as e:
        return None, {"duplicate": _duplicate_context(request, e), "specs": specs, "volume": volume}
    except BookingError as e:
        form.add_problems(e)
        return None, None
    return booking, None


@require_http_methods(["GET", "POST"])
@permission_required("bulkywaste.book_for_resident")
def hotline(request):
    """热线坐席 — find the caller (phone, or compound name and unit number), then book on one page."""
    # A caller's number is looked up by POST only, so it stays out of addresses, history and server logs; a
    # compound name and room number may come by GET (a link can be kept).
    looking_up = request.method == "POST" and request.POST.get("lookup") == "1"
    q = ((request.POST if looking_up else request.GET).get("q") or "").strip()[:60]
    if q and not looking_up and _is_phone_query(q):
        context = {"q": "", "results": [], "pii_in_address": True}
        return render(request, "bulkywaste/hotline.html", context, status=400)
    results: list[tuple[Unit, str, list[Person]]] = []
    if q:
        results = _search_units(request.user, q)
    unit = None
    if request.GET.get("unit"):
        unit = get_object_or_404(Unit.objects.select_related("compound", "node"), pk=parse_id(request.GET["unit"]) or 0)
        if not allows(request.user, "bulkywaste.book_for_resident", unit):
            raise Http404
    context = {"q": q, "results": results, "unit": unit}
    free = None
    if request.GET.get("free"):
        nodes = [n for n in _community_nodes() if allows(request.user, "bulkywaste.book_for_resident", n)]
        free = FreeAddressForm(request.GET if "f-address" in request.GET else None, nodes=nodes, prefix="f")
        context["free"] = free
    address = None
    if unit is not None:
        address = actions.address_of_unit(unit)
    elif free is not None and free.is_bound and free.is_valid():
        d = free.cleaned_data
        node = next(n for n in nodes if str(n.pk) == d["node"])
        try:
            address = actions.free_address(d["address"], *free.point(), node)
            actions.area_for(address.path)
        except BookingError as e:
            _error(free, e)
            address = None
    if address is not None:
        people = (
            list(
                Person.objects.filter(residences__unit=unit, residences__until__isnull=True)
                .order_by("pk")
                .distinct()[:20]
            )
            if unit is not None
            else []
        )
        area = actions.area_for(address.path)
        form = _staff_form(
            request,
            area=area,
            people=[(str(p.pk), f"{pii.mask_name(p.name)} {pii.mask_phone(p.phone)}") for p in people],
        )
        context.update(address=address, area=area, form=form)
        if request.method == "POST" and not looking_up and form.is_valid():
            person = next((p for p in people if str(p.pk) == form.cleaned_data.get("on_behalf_of")), None)
            booking, preview = _staff_book(request, form, address=address, channel=Channel.HOTLINE, on_behalf_of=person)
            if booking is not None:
                return redirect("bulkywaste:staff_done", reference=booking.reference)
            context["preview"] = preview
    context["idempotency_key"] = uuid.uuid4().hex
    if free is not None:
        context.update(_pick_context())
    return render(request, "bulkywaste/hotline.html", context)


def _is_phone_query(q: str) -> bool:
    digits = q.replace(" ", "").replace("-", "")
    return digits.isdigit() and len(digits) >= 7


def _search_units(user, q: str) -> list[tuple[Unit, str, list[Person]]]:
    """By phone: the units of people with that number. Otherwise: compound name (and a unit number)."""
    digits = q.replace(" ", "").replace("-", "")
    units: list[Unit] = []
    if _is_phone_query(q):
        try:
            phone = pii.normalize_phone(q)
        except pii.PiiError:
            phone = digits
        people = selectors.people_by_phone(user, phone)
        units = list(
            Unit.objects.filter(residences__person__in=people, residences__until__isnull=True)
            .select_related("compound", "node")
            .distinct()[:20]
        )
    else:
        parts = q.split()
        name, number = parts[0], (parts[-1] if len(parts) > 1 else "")
        compounds = scoped(
            AreaNode.objects.filter(level__is_compound=True, name__contains=name),
            user,
            roles_with("bulkywaste.book_for"),
        )[:10]
        qs = Unit.objects.filter(compound__in=list(compounds)).select_related("compound", "node")
        if number:
            qs = qs.filter(number=number)
        units = list(qs.order_by("path", "number")[:30])
    out = []
    for u in units:
        if allows(user, "bulkywaste.book_for_resident", u):
            out.append((u, actions.address_of_unit(u).text if u.compound.profile else u.number, []))
    return out


PICKER_LIMIT = 50


@dataclass
class CompoundPicker:
    form: CompoundChoiceForm
    chosen: AreaNode | None
    compounds: list[AreaNode]  # listed in the picker (at most PICKER_LIMIT, plus the chosen one)
    query: str  # the name filter typed (`cq`)
    more: bool  # more compounds match than are listed: type more of the name


def _pick_compound(request, capability: str, perm: str | None = None) -> CompoundPicker | None:
    """A compound picker that works at city scale (a district has thousands of 楼院): the user narrows the list by
    name (`cq`) and chooses from at most PICKER_LIMIT; the chosen one (`compound`) is read by id within the user's
    scope, so no cap on the list can hide it. None when the user's scope holds no compound at all."""
    in_scope = scoped(
        AreaNode.objects.filter(level__is_compound=True).select_related("profile"), request.user, roles_with(capability)
    )
    query = (request.GET.get("cq") or "").strip()[:50]
    listed = in_scope.filter(Q(name__contains=query) | Q(address__contains=query)) if query else in_scope
    compounds = list(listed.order_by("path")[: PICKER_LIMIT + 1])
    if not compounds and (not query or not in_scope.exists()):  # asked only when the list is empty
        return None
    more = len(compounds) > PICKER_LIMIT
    compounds = [c for c in compounds[:PICKER_LIMIT] if perm is None or allows(request.user, perm, c)]
    chosen = None
    if request.GET.get("compound"):
        chosen = in_scope.filter(pk=parse_id(request.GET["compound"]) or 0).first()
        if chosen is None or (perm and not allows(request.user, perm, chosen)):
            raise Http404
        if chosen not in compounds:
            compounds.insert(0, chosen)
    elif len(compounds) == 1 and not more and not query:
        chosen = compounds[0]  # a property manager with one compound goes straight to the form
    form = CompoundChoiceForm({"compound": str(chosen.pk)} if chosen else None, compounds=compounds)
    return CompoundPicker(form, chosen, compounds, query, more)


@require_http_methods(["GET", "POST"])
@permission_required("bulkywaste.book_compound")
def compound_booking(request):
    """物业整院预约 — a property manager (or worker) books one pickup for a whole compound."""
    picker = _pick_compound(request, "bulkywaste.book_for", perm="bulkywaste.book_compound")
    if picker is None:
        raise PermissionDenied
    choice, compound, compounds = picker.form, picker.chosen, picker.compounds
    if not compounds and not picker.query:
        raise PermissionDenied  # in scope, but none this user may book for
    context = {"choice": choice, "compound": compound, "compounds": compounds, "picker": picker}
    if compound is not None:
        try:
            address = actions.address_of_compound(compound)
            area = actions.area_for(address.path)
        except BookingError as e:
            messages.error(request, e.shown)
            return render(request, "bulkywaste/compound.html", context)
        form = _staff_form(request, area=area)
        context.update(address=address, form=form)
        if request.method == "POST" and form.is_valid():
            booking, preview = _staff_book(request, form, address=address, channel=Channel.PROPERTY)
            if booking is not None:
                return redirect("bulkywaste:staff_done", reference=booking.reference)
            context["preview"] = preview
    context["idempotency_key"] = uuid.uuid4().hex
    return render(request, "bulkywaste/compound.html", context)


@require_GET
@permission_required("bulkywaste.view_bookings")
def staff_done(request, reference: str):
    booking = _booking(request, reference)
    return render(request, "bulkywaste/staff_done.html", {"booking": booking, "read_back": read_back(booking)})


@require_GET
@permission_required("bulkywaste.view_bookings")
def staff_bookings(request):
    day = selectors.parse_day(request.GET.get("day"))
    status = (request.GET.get("status") or "")[:20]
    after = parse_id(request.GET.get("after"))
    rows = selectors.staff_bookings(request.user, day=day, status=status, after=after)
    for b in rows:
        b.masked_phone = pii.mask_phone(b.contact_phone)
    return render(
        request,
        "bulkywaste/staff_bookings.html",
        {
            "bookings": rows,
            "day": day,
            "status": status,
            "statuses": Booking.Status.choices,
            "next_after": rows[-1].pk if len(rows) == selectors.PAGE else None,
        },
    )


# ----------------------------------------------------------------------------------------------- dispatch


def _area_and_day(request, capability: str = "bulkywaste.dispatch"):
    areas = selectors.areas_for(request.user, capability)
    if not areas:
        raise PermissionDenied
    pk = parse_id(request.GET.get("area") or request.POST.get("area"))
    area = next((a for a in areas if a.pk == pk), areas[0])
    day = selectors.parse_day(request.GET.get("day") or request.POST.get("day"), timezone.localdate())
    return areas, area, day


@require_GET
@permission_required("bulkywaste.dispatch")
def dispatch_day(request):
    """调度 — one area's day: bookings, rounds, what could not be fitted and why; plan / re-plan."""
    areas, area, day = _area_and_day(request)
    check(request.user, "bulkywaste.dispatch", area)
    plan = DayPlan.objects.filter(area=area, day=day).first()
    bookings = list(
        Booking.objects.filter(area=area, day=day)
        .exclude(status=Booking.Status.CANCELLED)
        .order_by("window_start", "id")[:1000]
    )
    rounds = list(Round.objects.filter(plan=plan).select_related("vehicle").order_by("vehicle__name") if plan else [])
    by_round: dict[int, list[RoundStop]] = {r.pk: [] for r in rounds}
    if plan:
        for stop in RoundStop.objects.filter(round__plan=plan).select_related("booking").order_by("round_id", "order"):
            by_round.setdefault(stop.round_id, []).append(stop)
    unloads: dict[int, list[RoundUnload]] = {r.pk: [] for r in rounds}
    if plan:
        for u in RoundUnload.objects.filter(round__plan=plan).select_related("site"):
            unloads.setdefault(u.round_id, []).append(u)
    for r in rounds:
        r.n_stops = len(by_round.get(r.pk, []))
        r.n_trips = len(unloads.get(r.pk, [])) + 1
    dupes = selectors.duplicate_ids(bookings)
    for b in bookings:
        b.is_duplicate = b.pk in dupes
    capacity = next((c for c in actions.availability(area) if c["day"] == day), None)
    return render(
        request,
        "bulkywaste/dispatch.html",
        {
            "areas": areas,
            "area": area,
            "day": day,
            "plan": plan,
            "bookings": bookings,
            "rounds": rounds,
            "capacity": capacity,
            "prev": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            **_map_context(maps.rounds_map(rounds, by_round, unloads_by_round=unloads, height=360)),
            "timeline": maps.timeline(rounds, by_round) if rounds else None,
        },
    )


def _map_context(m: maps.Map) -> dict:
    return {"map": m, "map_tiles": m.leaflet() is not None}


@require_POST
@permission_required("bulkywaste.dispatch")
def dispatch_plan(request):
    areas, area, day = _area_and_day(request)
    actions.request_plan(area, day, actor=request.user)
    messages.success(request, _("已开始排线，完成后本页会显示路线"))
    return redirect(f"{reverse('bulkywaste:dispatch')}?area={area.pk}&day={day.isoformat()}")


@require_http_methods(["GET", "POST"])
@permission_required("bulkywaste.dispatch")
def dispatch_urgent(request):
    """加急 — a same-day pickup outside the planned capacity, with the reason recorded."""
    picker = _pick_compound(request, "bulkywaste.dispatch")
    if picker is None:
        raise PermissionDenied
    choice, compound = picker.form, picker.chosen
    context = {"choice": choice, "compound": compound, "urgent": True, "picker": picker}
    if compound is not None:
        try:
            address = actions.address_of_compound(compound)
        except BookingError as e:  # e.g. no coordinates on record: say so, as the compound booking page does
            messages.error(request, e.shown)
            return render(request, "bulkywaste/urgent.html", context)
        form = _staff_form(request, area=None, urgent=True)
        context.update(address=address, form=form)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                booking = actions.book_urgent(
                    actor=request.user,
                    items=form.specs(),
                    address=address,
                    reason=d["reason"],
                    contact_name=d["contact_name"],
                    contact_phone=d["contact_phone"],
                    window_end=d.get("window_end"),
                    notes=d.get("notes", ""),
                )
            except BookingError as e:
                form.add_problems(e)
            else:
                messages.success(request, _("加急预约已登记，正在重新排线"))
                return redirect(
                    f"{reverse('bulkywaste:dispatch')}?area={booking.area_id}&day={booking.day.isoformat()}"
                )
    return render(request, "bulkywaste/urgent.html", context)


@dataclass
class _Trip:
    """One trip of a round for the pages: its stops, then the unloading stop that ends it (None for the last)."""

    number: int
    stops: list
    unload: RoundUnload | None


def _trips(stops: list, unloads: list) -> list[_Trip]:
    by_trip = {u.after_trip: u for u in unloads}
    trips = [_Trip(n + 1, [], by_trip.get(n)) for n in range(len(unloads) + 1)]
    for s in stops:
        trips[min(s.trip, len(trips) - 1)].stops.append(s)
    return trips


@require_GET
@permission_required(None)
def round_detail(request, pk: int):
    rnd = gated_object(
        request, Round.objects.select_related("vehicle", "plan__area"), pk=pk, perm="bulkywaste.work_round"
    )
    stops = list(rnd.stops.select_related("booking").order_by("order"))
    for s in stops:
        s.map_url = amap_url(s.booking.latitude, s.booking.longitude, s.booking.address)
        s.href = reverse("bulkywaste:crew_stop", args=[s.pk])
    unloads = list(rnd.unloads.select_related("site"))
    for u in unloads:
        u.map_url = amap_url(u.site.latitude, u.site.longitude, u.site.name)
    return render(
        request,
        "bulkywaste/round.html",
        {
            "round": rnd,
            "stops": stops,
            "trips": _trips(stops, unloads),
            **_map_context(maps.rounds_map([rnd], {rnd.pk: stops}, unloads_by_round={rnd.pk: unloads})),
        },
    )


# -------------------------------------------------------------------------------------------------- crews


@require_GET
@permission_required("bulkywaste.view_crew_page")
def crew_today(request):
    """The crew's phone page: today's rounds of my vehicles, stops in order."""
    day = selectors.parse_day(request.GET.get("day"), timezone.localdate())
    rounds = list(
        Round.objects.filter(day=day, vehicle__crew=request.user).select_related("vehicle").order_by("start_at")[:10]
    )
    stops = list(RoundStop.objects.filter(round__in=rounds).select_related("booking").order_by("round_id", "order"))
    by_round = {r.pk: [] for r in rounds}
    for s in stops:
        s.masked_phone = pii.mask_phone(s.booking.contact_phone)
        by_round[s.round_id].append(s)
    unloads = {r.pk: [] for r in rounds}
    for u in RoundUnload.objects.filter(round__in=rounds).select_related("site"):
        u.map_url = amap_url(u.site.latitude, u.site.longitude, u.site.name)
        unloads[u.round_id].append(u)
    for r in rounds:
        r.stop_list = by_round[r.pk]
        r.trips = _trips(by_round[r.pk], unloads[r.pk])
        for stop in r.stop_list:
            stop.href = reverse("bulkywaste:crew_stop", args=[stop.pk])
    return render(
        request,
        "bulkywaste/crew.html",
        {
            "rounds": rounds,
            "day": day,
            "day_title": _crew_day_title(day),
            **_map_context(maps.rounds_map(rounds, by_round, unloads_by_round=unloads)),
        },
    )


def _crew_day_title(day: date) -> str:
    """今日收运 / 明日收运 / 收运路线 11月24日 — the crew page says which day it shows."""
    today = timezone.localdate()
    if day == today:
        return _("今日收运")
    if day == today + timedelta(days=1):
        return _("明日收运")
    return _("%(day)s 收运路线") % {"day": day_label(day)}


def _next_stop(stop: RoundStop) -> RoundStop | None:
    """The next stop of the same round still to be worked, in order (None at the end of the round)."""
    return (
        RoundStop.objects.filter(round_id=stop.round_id, order__gt=stop.order, booking__status__in=Booking.OPEN)
        .select_related("booking")
        .order_by("order")
        .first()
    )


def _crew_stop(request, pk: int) -> RoundStop:
    stop = get_object_or_404(RoundStop.objects.select_related("round__vehicle", "round__plan__area", "booking"), pk=pk)
    check(request.user, "bulkywaste.work_round", stop.round, view_perm="bulkywaste.work_round")
    return stop


@require_http_methods(["GET", "POST"])
@permission_required(None)
def crew_stop(request, pk: int):
    """One stop: items with outcome/weight/photo; the contact stays masked until the stop is opened."""
    stop = _crew_stop(request, pk)
    booking = stop.booking
    contact = None
    forms_by_item = {}
    items = list(booking.items.select_related("entry"))
    if request.method == "POST" and request.POST.get("action") == "open":
        contact = actions.open_stop(stop, actor=request.user)
    elif request.method == "POST":
        item_pk = parse_id(request.POST.get("item"))
        item = next((i for i in items if i.pk == item_pk), None)
        if item is None:
            raise Http404
        form = CrewItemForm(request.POST, request.FILES, prefix=f"i{item.pk}")
        if form.is_valid():
            photo = request.FILES.get(f"i{item.pk}-photo")
            try:
                actions.mark_item(
                    item,
                    actor=request.user,
                    outcome=form.cleaned_data["outcome"],
                    weight_kg=form.cleaned_data["weight_kg"],
                    photo=(photo.read(), photo.name) if photo else None,
                )
            except BookingError as e:
                _error(form, e)
            else:
                messages.success(request, _("已记录"))
                return redirect(f"{reverse('bulkywaste:crew_stop', args=[pk])}#next")
        forms_by_item[item.pk] = form
    for i in items:
        i.form = forms_by_item.get(i.pk) or CrewItemForm(
            prefix=f"i{i.pk}", initial={"outcome": i.outcome if i.outcome != "pending" else None}
        )
    return render(
        request,
        "bulkywaste/crew_stop.html",
        {
            "stop": stop,
            "booking": booking,
            "items": items,
            "contact": contact,
            "masked_name": pii.mask_name(booking.contact_name),
            "masked_phone": pii.mask_phone(booking.contact_phone),
            "map_url": amap_url(booking.latitude, booking.longitude, booking.address),
            "open": booking.status in Booking.OPEN,
            "photos": list(booking.photos.select_related("upload")),
            "next_stop": _next_stop(stop) if booking.status not in Booking.OPEN else None,
            "back": f"{reverse('bulkywaste:crew')}?day={stop.round.day.isoformat()}",
        },
    )


@require_POST
@permission_required(None)
def crew_round_action(request, pk: int):
    rnd = gated_object(
        request, Round.objects.select_related("vehicle", "plan__area"), pk=pk, perm="bulkywaste.work_round"
    )
    back = f"{reverse('bulkywaste:crew')}?day={rnd.day.isoformat()}"
    try:
        if request.POST.get("action") == "complete":
            actions.complete_round(rnd, actor=request.user)
            messages.success(request, _("本趟已完成"))
        else:
            actions.start_round(rnd, actor=request.user)
            messages.success(request, _("已出车"))
    except BookingError as e:
        messages.error(request, e.shown)
    return redirect(back)


# ----------------------------------------------------------------------------------------- ratings, dumping


@require_http_methods(["GET", "POST"])
def rate(request, token: str):
    """评价 — reached by the link in the outcome SMS; no sign-in, one rating per booking."""
    booking = Booking.objects.filter(rating_token=token, status__in=Booking.FINISHED).first() if token else None
    if booking is None:
        return render(request, "bulkywaste/message.html", {"title": _("评价链接无效")}, status=404)
    if hasattr(booking, "rating"):
        return render(request, "bulkywaste/message.html", {"title": _("您已评价过本次服务，谢谢")})
    form = RatingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.rate_service(token, score=int(form.cleaned_data["score"]), comment=form.cleaned_data["comment"])
        except BookingError as e:
            form.add_error(None, e.shown)
        else:
            return render(request, "bulkywaste/message.html", {"title": _("感谢您的评价")})
    return render(request, "bulkywaste/rate.html", {"booking": booking, "form": form})


@require_http_methods(["GET", "POST"])
def report_dumping(request):
    """乱丢大件垃圾举报 — anyone, signed in or not; rate-limited per address, with a honeypot, no CAPTCHA."""
    nodes = _community_nodes()
    form = DumpingForm(request.POST or None, request.FILES or None, nodes=nodes)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["website"]:
            return render(request, "bulkywaste/message.html", {"title": _("已收到您的举报，谢谢")})
        key = client_key(request)
        if not limits.hit((key,), REPORTS_PER_HOUR, 3600).allowed:  # counted first, shared by every worker
            return render(
                request,
                "bulkywaste/message.html",
                {"title": _("提交过于频繁"), "text": _("请稍后再试，或拨打服务热线")},
                status=429,
            )
        d = form.cleaned_data
        photo = request.FILES.get("photo")
        node = next((n for n in nodes if str(n.pk) == d["node"]), None)
        try:
            report = actions.report_dumping(
                actor=request.user if request.user.is_authenticated else None,
                description=d["description"],
                node=node,
                address=d["address"],
                latitude=form.point()[0],
                longitude=form.point()[1],
                photo=(photo.read(), photo.name) if photo else None,
                reporter_phone=d["reporter_phone"],
            )
        except BookingError as e:
            _error(form, e)
        else:
            return render(
                request,
                "bulkywaste/message.html",
                {"title": _("已收到您的举报，谢谢"), "text": _("举报编号：%(ref)s") % {"ref": report.reference}},
            )
    return render(request, "bulkywaste/report.html", {"form": form, **_pick_context()})


@require_GET
@permission_required("bulkywaste.handle_dumping")
def dumping_queue(request):
    status = (request.GET.get("status") or "")[:12]
    after = parse_id(request.GET.get("after"))
    rows = selectors.dumping_queue(request.user, status=status, after=after)
    return render(
        request,
        "bulkywaste/dumping.html",
        {
            "reports": rows,
            "status": status,
            "statuses": DumpingReport.Status.choices,
            "next_after": rows[-1].pk if len(rows) == selectors.PAGE else None,
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("bulkywaste.handle_dumping")
def dumping_detail(request, pk: int):
    report = gated_object(
        request,
        DumpingReport.objects.select_related("area", "assigned_to", "photo"),
        pk=pk,
        perm="bulkywaste.handle_dumping",
    )
    form = ResolveForm(request.POST if request.POST.get("action") == "resolve" else None)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "assign":
                actions.assign_dumping(report, actor=request.user, assignee=request.user)
                return redirect("bulkywaste:dumping_detail", pk=pk)
            if form.is_valid():
                actions.resolve_dumping(report, actor=request.user, resolution=form.cleaned_data["resolution"])
                return redirect("bulkywaste:dumping_detail", pk=pk)
        except BookingError as e:
            _error(form, e)
    map_url = amap_url(report.latitude, report.longitude, report.address or report.reference) if report.latitude else ""
    return render(request, "bulkywaste/dumping_detail.html", {"report": report, "form": form, "map_url": map_url})


# ------------------------------------------------------------------------------------------------ figures


def _figures_args(request):
    today = timezone.localdate()
    end = selectors.parse_day(request.GET.get("to"), today)
    start = selectors.parse_day(request.GET.get("from"), end - timedelta(days=29))
    if start > end or (end - start).days > 366:
        start = end - timedelta(days=29)
    areas = selectors.areas_for(request.user, "bulkywaste.figures")
    pk = parse_id(request.GET.get("area"))
    area = next((a for a in areas if a.pk == pk), None)
    return start, end, areas, area


@require_GET
@permission_required("bulkywaste.view_figures")
def figures(request):
    start, end, areas, area = _figures_args(request)
    f = selectors.figures(request.user, start, end, area)
    chart_category = selectors.bars(f.by_category, "weight_kg", "label", width=150)
    chart_day = selectors.bars(f.by_day, "pieces", "booking__day", width=150)
    return render(
        request,
        "bulkywaste/figures.html",
        {
            "f": f,
            "areas": areas,
            "area": area,
            "chart_category": chart_category,
            "chart_category_h": 28 * len(chart_category) + 8,
            "chart_day": chart_day,
            "chart_day_h": 28 * len(chart_day) + 8,
            "query": request.GET.urlencode(),
        },
    )


@require_GET
@permission_required("bulkywaste.view_figures")
def figures_xlsx(request):
    from gongzhi.bulkywaste.exports import figures_workbook  # here, not at the top: loads openpyxl only for this export

    start, end, _areas, area = _figures_args(request)
    f = selectors.figures(request.user, start, end, area)
    response = HttpResponse(
        figures_workbook(f), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="bulky-figures-{start}-{end}.xlsx"'
    return response
