"""The ledger (台账): what each round cost, shared over its stops, written once when the round is completed."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from gongzhi.bulkywaste.models import BookingItem, CostEntry, CostRates, Round, RoundStop


def _rates(day: date) -> CostRates:
    return CostRates.objects.filter(effective_from__lte=day).first() or CostRates(
        vehicle_km=Decimal(0), crew_hour=Decimal(0), disposal_kg=Decimal(0), effective_from=day
    )


def _split(total: Decimal, n: int, quantum: Decimal) -> list[Decimal]:
    """Share `total` over n stops in steps of `quantum`; the last takes the remainder, so the sum is exact."""
    each = (total / n).quantize(quantum, rounding=ROUND_HALF_UP)
    return [each] * (n - 1) + [total - each * (n - 1)]


def write_ledger(rnd: Round, stops: list[RoundStop]) -> None:
    """台账: the round's vehicle-km and crew hours shared equally over its stops; disposal by weight collected.

    Vehicle-km and crew hours use the planned round (distance, start to end), which does not depend on when
    the crew pressed the buttons; crew hours count every crew member of the vehicle (at least one).
    """
    q4, q2 = Decimal("0.0001"), Decimal("0.01")
    rates = _rates(rnd.day)
    n = len(stops)
    km = (Decimal(rnd.distance_m) / 1000).quantize(q4)
    hours = (Decimal((rnd.end_at - rnd.start_at).total_seconds()) / 3600).quantize(q4)
    crew = max(1, rnd.vehicle.crew.count())
    crew_hours = hours * crew
    km_q, km_a = _split(km, n, q4), _split((km * rates.vehicle_km).quantize(q2, ROUND_HALF_UP), n, q2)
    ch_q = _split(crew_hours, n, q4)
    ch_a = _split((crew_hours * rates.crew_hour).quantize(q2, ROUND_HALF_UP), n, q2)
    booking_ids = [s.booking_id for s in stops]
    collected: dict[int, Decimal] = defaultdict(Decimal)
    for bid, w in BookingItem.objects.filter(
        booking_id__in=booking_ids, outcome=BookingItem.Outcome.COLLECTED
    ).values_list("booking_id", "collected_weight_kg"):
        collected[bid] += w or 0
    planned: dict[int, int] = defaultdict(int)
    for bid, w in RoundStop.objects.filter(booking_id__in=booking_ids).values_list("booking_id", "weight_kg"):
        planned[bid] += w
    rows = []
    area = rnd.plan.area
    for i, s in enumerate(stops):
        share = Decimal(s.weight_kg) / planned[s.booking_id] if planned[s.booking_id] else Decimal(1) / max(1, s.parts)
        kg = (collected[s.booking_id] * share).quantize(q4)
        common = {
            "round": rnd,
            "stop": s,
            "booking_id": s.booking_id,
            "vehicle": rnd.vehicle,
            "area": area,
            "day": rnd.day,
        }
        rows += [
            CostEntry(
                kind=CostEntry.Kind.VEHICLE_KM, quantity=km_q[i], rate=rates.vehicle_km, amount=km_a[i], **common
            ),
            CostEntry(kind=CostEntry.Kind.CREW_HOURS, quantity=ch_q[i], rate=rates.crew_hour, amount=ch_a[i], **common),
            CostEntry(
                kind=CostEntry.Kind.DISPOSAL,
                quantity=kg,
                rate=rates.disposal_kg,
                amount=(kg * rates.disposal_kg).quantize(q2, ROUND_HALF_UP),
                **common,
            ),
        ]
    CostEntry.objects.bulk_create(rows)
