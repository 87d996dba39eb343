"""Bulky waste's pages and API: a booking of 油漆厂家属院 planned onto today's round of 福华街街道's vehicle.

The service area is the subdistrict (福华街街道), where the roles "in scope" are held; those "out of scope"
are held in 大学路街道. (The bulky-waste branch reworks these views onto the gate; where its answers
change, this table changes with them.)
"""

from django.utils import timezone

from gongzhi.bulkywaste import actions
from gongzhi.bulkywaste.models import Booking, DayPlan, DumpingReport, RoundStop
from gongzhi.core.roles import CAPABILITIES
from testkit import bulkywaste as bw
from testkit.permissions import PUBLIC, SIGNED_IN, Api, Page
from testkit.world import make_user

IN_SCOPE_AT = "subdistrict"  # the service area: dispatch, rounds and figures are kept per area
BOOKING_STAFF = "bulkywaste.book_for"
DISPATCH = "bulkywaste.dispatch"
REVEAL = frozenset({"district_admin"})  # booking staff with the pii.unmasked capability
BOOKING_STAFF_ONLY = {role: 403 for role in CAPABILITIES[BOOKING_STAFF] - REVEAL}
NOT_DISPATCHER = {("dispatcher", "in"): 403, ("dispatcher", "out"): 403}


def setup(world):
    mini = world.mini
    area = bw.service_area(mini.subdistrict)
    crew = bw.crew_member("perm-bulky-crew", mini.subdistrict)
    bw.vehicle(area, crew=[crew])
    operator = make_user("perm-bulky-operator", "hotline_operator", mini.district)
    today = timezone.localdate()
    booking = bw.book_for(mini.units[0], actor=operator, items=[bw.item("wardrobe")], now=timezone.now())
    Booking.objects.filter(pk=booking.pk).update(day=today)
    plan, _ = DayPlan.objects.get_or_create(area=area, day=today)
    midnight = timezone.make_aware(timezone.datetime.combine(today, timezone.datetime.min.time()))
    actions.plan_day(plan.pk, iterations=50, now=midnight)
    world.booking = Booking.objects.get(pk=booking.pk)
    world.stop = RoundStop.objects.get()
    world.round = world.stop.round
    world.dumping = (
        DumpingReport.objects.create(
            area=area, path=mini.courtyard.path, description="楼道口堆放旧沙发", location_text="1号楼"
        )
        if hasattr(DumpingReport, "location_text")
        else None
    )


def ref(w):
    return {"reference": w.booking.reference}


TABLE = [
    Page("bulkywaste:start", who=PUBLIC),
    Page("bulkywaste:book_items", who=SIGNED_IN),
    Page("bulkywaste:book_where", who=SIGNED_IN, ok=302),  # the steps in order: back to the first
    Page("bulkywaste:book_when", who=SIGNED_IN, ok=302),
    Page("bulkywaste:book_contact", who=SIGNED_IN, ok=302),
    Page("bulkywaste:book_photos", who=SIGNED_IN, ok=302),
    Page("bulkywaste:book_check", who=SIGNED_IN, ok=302),
    Page("bulkywaste:mine", who=SIGNED_IN),
    Page("bulkywaste:booking", who=BOOKING_STAFF, kwargs=ref, refused=404),
    Page("bulkywaste:booking_done", who=BOOKING_STAFF, kwargs=ref, refused=404),
    Page("bulkywaste:booking_amend", who=BOOKING_STAFF, kwargs=ref, refused=404),
    Page("bulkywaste:booking_cancel", who=BOOKING_STAFF, kwargs=ref, refused=404),
    # Full contact details: staff with unmasked personal data among those who see the booking.
    Page("bulkywaste:booking_reveal", who=REVEAL, method="post", kwargs=ref, refused=404, expect=BOOKING_STAFF_ONLY),
    # Booking for a resident or a compound: the booking staff who act for residents (not the dispatcher).
    Page("bulkywaste:hotline", who=BOOKING_STAFF, expect=NOT_DISPATCHER),
    Page("bulkywaste:compound", who=BOOKING_STAFF, expect=NOT_DISPATCHER),
    Page("bulkywaste:staff_bookings", who=BOOKING_STAFF),
    Page("bulkywaste:staff_done", who=BOOKING_STAFF, kwargs=ref),
    Page("bulkywaste:dispatch", who=DISPATCH, out=403),  # no service area of one's own: refused
    Page("bulkywaste:dispatch_plan", who=DISPATCH, method="post", ok=302, out=403),
    Page("bulkywaste:dispatch_urgent", who=DISPATCH),
    Page("bulkywaste:round", who=DISPATCH, kwargs=lambda w: {"pk": w.round.pk}, refused=404),
    Page("bulkywaste:crew", who=frozenset({"crew", "dispatcher", "district_admin"})),
    # A round and its stops: its own crew (a crew member of another vehicle finds nothing) and the dispatch.
    Page("bulkywaste:crew_stop", who=DISPATCH, kwargs=lambda w: {"pk": w.stop.pk}, refused=404),
    Page(
        "bulkywaste:crew_round", who=DISPATCH, method="post", kwargs=lambda w: {"pk": w.round.pk}, ok=302, refused=404
    ),
    Page("bulkywaste:rate", who=PUBLIC, kwargs=lambda w: {"token": "x" * 20}, ok=404),  # an unknown link
    Page("bulkywaste:report", who=PUBLIC),
    Page("bulkywaste:dumping", who="bulkywaste.dumping"),
    Page("bulkywaste:dumping_detail", who="bulkywaste.dumping", kwargs=lambda w: {"pk": 0}, ok=404),
    Page("bulkywaste:figures", who="bulkywaste.figures"),
    Page("bulkywaste:figures_xlsx", who="bulkywaste.figures"),
    Api("/api/v1/bulky/catalogue/", who=PUBLIC),
    Api("/api/v1/bulky/check-item/", "post", who=PUBLIC, ok=400),
    Api("/api/v1/bulky/availability/", who=SIGNED_IN, ok=400),
    Api("/api/v1/bulky/bookings/", who=SIGNED_IN),
    Api("/api/v1/bulky/bookings/", "post", who=SIGNED_IN, ok=400),
    Api("/api/v1/bulky/bookings/{reference}/", who=BOOKING_STAFF, kwargs=ref, refused=404),
    # An amendment with an empty body changes nothing and is refused with its reason (400).
    Api("/api/v1/bulky/bookings/{reference}/", "patch", who=BOOKING_STAFF, kwargs=ref, ok=400, refused=404),
    Api("/api/v1/bulky/dumping-reports/", "post", who=PUBLIC, ok=400),
    Api("/api/v1/bulky/stops/{id}/", who=DISPATCH, kwargs=lambda w: {"id": w.stop.pk}, refused=404),
    Api(
        "/api/v1/bulky/stops/{id}/mark/", "post", who=DISPATCH, kwargs=lambda w: {"id": w.stop.pk}, ok=400, refused=404
    ),
    # Last, as it changes the booking: the first who may (the district admin) cancels it; the others who may
    # are then told it is cancelled already (400).
    Api(
        "/api/v1/bulky/bookings/{reference}/cancel/",
        "post",
        who=BOOKING_STAFF,
        kwargs=ref,
        ok=400,
        refused=404,
        expect={("district_admin", "in"): 200},
    ),
]
