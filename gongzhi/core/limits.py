"""Limits that hold across web workers and machines: counters in the database, counted before the check.

`hit(key, limit, seconds)` adds one to the key's counter in a single statement (INSERT … ON CONFLICT DO UPDATE …
RETURNING) and only then compares it with the limit, so N concurrent requests get the counts 1…N and exactly
`limit` of them pass — a read-then-write check lets them all through. Counters live in fixed windows: the first
hit opens a window of `seconds`; when it has passed, the next hit starts a new one.

Keys are stored as a keyed hash (HMAC with the look-up key): no user name, phone number or address is kept in
clear, and a key of any length takes the same 64 characters. Expired counters are pruned as hits arrive, so the
table holds at most the keys hit within the longest window.

Call these outside the action's transaction: a refused request rolls its change back, never its count.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from gongzhi.core import crypto
from gongzhi.core.models import RateCounter

PRUNE_ONE_IN = 200  # on average every 200th hit deletes expired counters


@dataclass(frozen=True)
class Decision:
    count: int  # this request's number in the window (counted before the check)
    limit: int
    retry_after: int  # seconds until the window closes

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit


def key_of(*parts: object) -> str:
    return crypto.lookup_hash("\x1f".join(str(p) for p in parts), context="limit")


def _now_ms() -> int:
    return int(time.time() * 1000)


def hit(parts: tuple, limit: int, seconds: int) -> Decision:
    """Count one request for `parts` (e.g. ("signin", username)) and say whether it is within `limit`."""
    key, now = key_of(*parts), _now_ms()
    until = now + seconds * 1000
    table = RateCounter._meta.db_table
    sql = (
        f"INSERT INTO {table} (bucket, hits, expires_at) VALUES (%s, 1, %s) "
        f"ON CONFLICT (bucket) DO UPDATE SET "
        f"hits = CASE WHEN {table}.expires_at <= %s THEN 1 ELSE {table}.hits + 1 END, "
        f"expires_at = CASE WHEN {table}.expires_at <= %s THEN %s ELSE {table}.expires_at END "
        f"RETURNING hits, expires_at"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [key, until, now, now, until])
        count, expires_at = cursor.fetchone()
    if random.randrange(PRUNE_ONE_IN) == 0:
        RateCounter.objects.filter(expires_at__lt=now).delete()
    return Decision(count=count, limit=limit, retry_after=max(1, (expires_at - now + 999) // 1000))


def count(parts: tuple) -> int:
    """The current count for `parts` (0 when its window has passed), without counting."""
    row = RateCounter.objects.filter(bucket=key_of(*parts), expires_at__gt=_now_ms()).values_list("hits", flat=True)
    return row.first() or 0


def reset(parts: tuple) -> None:
    RateCounter.objects.filter(bucket=key_of(*parts)).delete()


def client_address(request) -> str:
    """The address a request came from. Behind GONGZHI_PROXY_HOPS load balancers or proxies that append to
    X-Forwarded-For, the entry the nearest of them saw (the client cannot forge that one); else REMOTE_ADDR."""
    hops = settings.GONGZHI_PROXY_HOPS
    if hops:
        chain = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return request.META.get("REMOTE_ADDR", "") or "unknown"
