"""The one idempotency helper: a create that carries a client's key happens once, however often it is retried.

The model keeps the key in a column with a unique constraint over (owner, key) for non-empty keys. A retry
finds the first row and returns it; two retries racing each other both try to insert, the constraint refuses
the second, and it returns the winner's row (the loser's savepoint is rolled back, so whatever it wrote inside
`create` — capacity taken, counters — is undone with it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

T = TypeVar("T")

KEY_LENGTH = 64


def clean_key(key: str | None) -> str:
    """The key as stored: stripped, at most 64 characters; "" means no key (every call creates)."""
    return (key or "").strip()[:KEY_LENGTH]


def replay(queryset: QuerySet, key: str, *, field: str = "idempotency_key"):
    """The row created earlier under `key` within `queryset` (already narrowed to the owner), or None."""
    return queryset.filter(**{field: key}).first() if key else None


def get_or_create_by_key(
    queryset: QuerySet, key: str, create: Callable[[], T], *, field: str = "idempotency_key"
) -> tuple[T, bool]:
    """(row, created): the row made earlier under `key`, or `create()` run once inside a savepoint.

    `queryset` is narrowed to the owner (e.g. `Booking.objects.filter(booked_by=actor)`); `create` must store
    `key` in `field`. An IntegrityError that is not a key clash is raised again.
    """
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
