"""Creates that take an idempotency key: a retry with the same key gets the first result, never a second row.

The model holds a unique constraint over (its scope fields, `idempotency_key`) for non-empty keys; the database
decides between two concurrent requests, and the loser reads the winner's row (its savepoint is rolled back, so
whatever it wrote inside `create` — capacity taken, counters — is undone with it):

    opinion, created = create_once(
        Opinion, key, scope={"matter": matter}, create=lambda: Opinion.objects.create(matter=matter, ...)
    )
    if not created:
        return opinion          # a replay: nothing else is written (no second audit entry)

Every create that takes a key goes through here (deliberation's opinions and objections, the deliberation API's
"was this a replay?" answer, voting's ballot replay, bulky-waste bookings). Web forms without a key of their own
are covered by `gongzhi.core.once` (a hidden key per rendered form).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, models, transaction

M = TypeVar("M", bound=models.Model)
T = TypeVar("T")
FIELD = "idempotency_key"
KEY_LENGTH = 64


def clean_key(key: str | None) -> str:
    """The key as stored: stripped, at most 64 characters; "" means no key (every call creates)."""
    return (key or "").strip()[:KEY_LENGTH]


def first_with_key(queryset: models.QuerySet[M] | type[M], key: str, **scope) -> M | None:
    """The row already made with `key` within `scope`, if any (None for an empty key)."""
    if not key:
        return None
    qs = queryset if isinstance(queryset, models.QuerySet) else queryset._default_manager.all()
    return qs.filter(**scope, **{FIELD: key}).first()


def replay(queryset: models.QuerySet, key: str, *, field: str = FIELD):
    """The row created earlier under `key` within `queryset` (already narrowed to the owner), or None."""
    return queryset.filter(**{field: key}).first() if key else None


def replayed(model: type[models.Model], key: str, **scope) -> bool:
    """Has a request with this key already been answered (for an API's 200 instead of 201)?"""
    return bool(key) and model._default_manager.filter(**scope, **{FIELD: key}).exists()


def create_once(model: type[M], key: str, *, scope: dict, create: Callable[[], M]) -> tuple[M, bool]:
    """(the row, created?): the row made earlier with `key` in `scope`, or `create()`'s, race-safe."""
    existing = first_with_key(model, key, **scope)
    if existing is not None:
        return existing, False
    if not key:
        return create(), True
    try:
        with transaction.atomic():  # a savepoint: the loser of a race keeps its outer transaction usable
            return create(), True
    except IntegrityError:
        return model._default_manager.get(**scope, **{FIELD: key}), False


def get_or_create_by_key(
    queryset: models.QuerySet, key: str, create: Callable[[], T], *, field: str = FIELD
) -> tuple[T, bool]:
    """(row, created) within a queryset already narrowed to the owner (e.g. `Booking.objects.filter(booked_by=
    actor)`); `create` must store `key` in `field`. An IntegrityError that is not a key clash is raised again."""
    key = clean_key(key)
    existing = replay(queryset, key, field=field)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        existing = replay(queryset, key, field=field)
        if existing is None:
            raise
        return existing, False
