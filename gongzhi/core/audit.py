"""Writing and verifying the audit log (see AuditEntry for the chain design)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from gongzhi.core import crypto
from gongzhi.core.context import channel_var, current_request_id
from gongzhi.core.models import AuditEntry

AUDIT_CHAINS = 16
GENESIS = "0" * 64
PERSONAL = "[personal]"  # stands in for a personal value in `changes`


def _canonical(entry: AuditEntry) -> bytes:
    body = {
        "chain": entry.chain,
        "seq": entry.seq,
        "prev": entry.prev_mac,
        "at": entry.created_at.isoformat(),
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "for": entry.on_behalf_of_id,
        "channel": entry.channel,
        "rid": entry.request_id,
        "action": entry.action,
        "type": entry.target_type,
        "id": entry.target_id,
        "changes": entry.changes,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def target_key(target: models.Model | tuple[str, Any]) -> tuple[str, str]:
    if isinstance(target, tuple):
        return target[0], str(target[1])
    return target._meta.label_lower, str(target.pk)


_PG_LOCK_NAMESPACE = 0x475A  # "GZ": pg_advisory_xact_lock(namespace, chain) takes one chain's lock, never all


def _queue_on_chain(chain: int) -> None:
    """After losing a race on (chain, seq), a PostgreSQL writer queues on that chain's advisory lock (held until
    its transaction ends), so under load it cannot lose again and again until it gives up. The first attempt
    stays lock-free: no extra query when there is no contention, and other chains are never touched.
    SQLite's IMMEDIATE transactions already serialize writers."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_PG_LOCK_NAMESPACE, chain])


def record(
    action: str,
    target: models.Model | tuple[str, Any],
    *,
    actor,
    on_behalf_of=None,
    changes: dict | None = None,
    channel: str = "",
) -> AuditEntry:
    """Append one entry. Call inside the action's transaction so the entry commits with the change."""
    target_type, target_id = target_key(target)
    via = channel_var.get()  # the API token the actor signed in with: every use of a token is tied to its user
    if via:
        channel = f"{channel}|{via}"[:32] if channel else via
    chain = zlib.crc32(f"{target_type}:{target_id}".encode()) % AUDIT_CHAINS
    for attempt in range(20):
        if attempt == 1:
            _queue_on_chain(chain)  # lost a race on (chain, seq): from now on wait our turn
        last = AuditEntry.objects.filter(chain=chain).order_by("-seq").values_list("seq", "mac").first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        entry = AuditEntry(
            chain=chain,
            seq=seq,
            created_at=timezone.now(),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=str(actor) if actor is not None else "system",
            on_behalf_of=on_behalf_of,
            channel=channel,
            request_id=current_request_id(),
            action=action,
            target_type=target_type,
            target_id=target_id,
            changes=json.loads(json.dumps(changes or {}, default=str)),
            prev_mac=prev,
        )
        entry.mac = crypto.mac(_canonical(entry))
        try:
            with transaction.atomic():  # savepoint: a lost race on (chain, seq) is retried, not fatal
                entry.save()
            return entry
        except IntegrityError:
            continue
    raise RuntimeError("audit chain contention: could not append after 20 attempts")


@dataclass
class VerifyProblem:
    entry_id: int
    chain: int
    seq: int
    reason: str


def verify(batch: int = 5000) -> Iterator[VerifyProblem]:
    """Walk every chain in order; yield the first broken entry of each chain (altered, missing, re-linked)."""
    for chain in range(AUDIT_CHAINS):
        expected_seq, prev = 1, GENESIS
        qs = AuditEntry.objects.filter(chain=chain).order_by("seq")
        last_seq = 0
        while True:
            page = list(qs.filter(seq__gt=last_seq)[:batch])
            if not page:
                break
            problem = None
            for entry in page:
                if entry.seq != expected_seq:
                    problem = VerifyProblem(entry.id, chain, entry.seq, f"missing entry: expected seq {expected_seq}")
                elif entry.prev_mac != prev:
                    problem = VerifyProblem(entry.id, chain, entry.seq, "link to the previous entry is broken")
                elif crypto.mac(_canonical(entry)) != entry.mac:
                    problem = VerifyProblem(entry.id, chain, entry.seq, "content does not match its MAC (altered)")
                if problem:
                    break
                expected_seq, prev, last_seq = entry.seq + 1, entry.mac, entry.seq
            if problem:
                yield problem
                break


def diff(before: dict, after: dict, personal: frozenset[str] = frozenset()) -> dict:
    """Field-level changes; personal fields are named but their values are not copied into the log."""
    out = {}
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            if key in personal:
                out[key] = PERSONAL
            else:
                out[key] = [before.get(key), after.get(key)]
    return out
