"""Writing and verifying the audit log (see AuditEntry for the chain design)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from gongzhi.core import crypto
from gongzhi.core.context import channel_var, current_request_id
from gongzhi.core.models import AuditCheckpoint, AuditEntry
from gongzhi.core.rows import Read, insert_unless_taken

AUDIT_CHAINS = 16
GENESIS = "0" * 64
PERSONAL = "[personal]"  # stands in for a personal value in `changes`

# A chain's last (seq, mac): read by every audited action.
_TAIL = Read(AuditEntry, "t.chain = %s", order_by="t.seq DESC", limit=1, values=("seq", "mac"))


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


def actor_label(actor) -> str:
    """Who acted, as the log keeps it. An account that signs in as a registry person (a resident) is named by its
    id only: its display name is that person's name, and the log, which is never rewritten, must not keep a
    personal value past the person's erasure (see core.privacy). Staff accounts keep their label."""
    if actor is None:
        return "system"
    if getattr(actor, "person_id", None):
        return f"user #{actor.pk}"
    return str(actor)


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
        last = _TAIL.first(chain)
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        entry = AuditEntry(
            chain=chain,
            seq=seq,
            created_at=timezone.now(),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=actor_label(actor),
            on_behalf_of_id=getattr(on_behalf_of, "pk", on_behalf_of),  # a person or its id (no query for it)
            channel=channel,
            request_id=current_request_id(),
            action=action,
            target_type=target_type,
            target_id=target_id,
            changes=json.loads(json.dumps(changes or {}, default=str)),
            prev_mac=prev,
        )
        entry.mac = crypto.mac(_canonical(entry))
        if insert_unless_taken(entry):  # a lost race on (chain, seq) is retried, not fatal (and costs no savepoint)
            return entry
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


# --- Checkpoints: the chain heads, signed and kept outside the database too --------------------------------------


def _checkpoint_body(created_at: str, heads: dict, prev: str) -> bytes:
    body = {"kind": "audit-checkpoint", "at": created_at, "heads": heads, "prev": prev}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def chain_heads() -> dict[str, list]:
    heads = {}
    for chain in range(AUDIT_CHAINS):
        last = _TAIL.first(chain)
        if last:
            heads[str(chain)] = [last[0], last[1]]
    return heads


def checkpoint() -> AuditCheckpoint:
    """Record the chain heads now: a signed row in the database and a line appended to the checkpoint file.

    The file is the copy an insider with the database alone cannot rewrite: keep it on storage the database
    administrators cannot write (another host, an append-only mount, `chattr +a`), or ship each line elsewhere —
    the command prints it, so a scheduler's log or a daily notice carries it too."""
    with transaction.atomic():
        last = AuditCheckpoint.objects.select_for_update().order_by("-id").first()
        prev = last.mac if last else GENESIS
        created_at = timezone.now()
        heads = chain_heads()
        body = _checkpoint_body(created_at.isoformat(), heads, prev)
        point = AuditCheckpoint.objects.create(created_at=created_at, heads=heads, prev_mac=prev, mac=crypto.mac(body))
    line = json.loads(body) | {"mac": point.mac}
    path = settings.GONGZHI_AUDIT_CHECKPOINT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (json.dumps(line, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return point


def _file_checkpoints() -> list[dict]:
    path = settings.GONGZHI_AUDIT_CHECKPOINT_FILE
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"broken": line[:80]})
    return out


def verify_checkpoints() -> Iterator[VerifyProblem]:
    """Check the checkpoints (their signatures and links, the file against the database) and that every chain
    still reaches the head the newest checkpoint saw: deleting a chain's last entries is found here."""
    rows = list(AuditCheckpoint.objects.order_by("id"))
    prev = GENESIS
    for row in rows:
        body = _checkpoint_body(row.created_at.isoformat(), row.heads, row.prev_mac)
        if crypto.mac(body) != row.mac:
            yield VerifyProblem(0, -1, row.pk, "checkpoint altered: its signature does not match")
        elif row.prev_mac != prev:
            yield VerifyProblem(0, -1, row.pk, "checkpoint missing before this one (link broken)")
        prev = row.mac
    known = {row.mac for row in rows}
    newest: dict | None = {"at": rows[-1].created_at.isoformat(), "heads": rows[-1].heads} if rows else None
    for line in _file_checkpoints():
        if "broken" in line or crypto.mac(_checkpoint_body(line["at"], line["heads"], line["prev"])) != line["mac"]:
            yield VerifyProblem(0, -1, 0, "checkpoint file: a line is damaged or its signature does not match")
            continue
        if line["mac"] not in known:
            yield VerifyProblem(0, -1, 0, f"checkpoint of {line['at']} is in the file but not in the database")
        if newest is None or line["at"] > newest["at"]:
            newest = line
    if newest is None:
        return
    yield from _reaches(newest["heads"], f"the checkpoint of {newest['at']}")


def _reaches(heads: dict, seen_by: str) -> Iterator[VerifyProblem]:
    """Every chain still reaches the head `seen_by` recorded, with the same MAC: a missing head is truncation."""
    for chain, (seq, mac) in sorted(heads.items(), key=lambda kv: int(kv[0])):
        entry = AuditEntry.objects.filter(chain=int(chain), seq=seq).values_list("id", "mac").first()
        if entry is None:
            end = AuditEntry.objects.filter(chain=int(chain)).order_by("-seq").values_list("seq", flat=True).first()
            yield VerifyProblem(
                0, int(chain), seq, f"truncated: {seen_by} saw seq {seq}, the chain now ends at {end or 0}"
            )
        elif entry[1] != mac:
            yield VerifyProblem(entry[0], int(chain), seq, f"entry differs from {seen_by}")


# --- The printed checkpoint: one line on every notice, so the bulletin board keeps the log's head ------------------

PRINT_TAG = "GZCP"
_PRINTED_RE = re.compile(
    rf"{PRINT_TAG}\s+(?P<at>\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}(?:[+-]\d{{2}}:?\d{{2}}|Z)?)\s+"
    r"n\s*=\s*(?P<n>\d+)\s+head\s*=\s*(?P<head>[0-9a-f]{16})\s+sig\s*=\s*(?P<sig>[0-9a-f]{16})",
    re.IGNORECASE,
)


class PrintedCheckpointError(ValueError):
    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


@dataclass(frozen=True)
class PrintedCheckpoint:
    """A checkpoint short enough to print on a notice and type back in: its time (to the second, local), the
    number of entries the log held, a hash of every chain's head, and a signature of those three (look-up key)."""

    at: str
    entries: int
    head: str
    sig: str

    @property
    def text(self) -> str:
        return f"{PRINT_TAG} {self.at} n={self.entries} head={self.head} sig={self.sig}"

    @property
    def genuine(self) -> bool:
        return hmac.compare_digest(self.sig, _printed_sig(self.at, self.entries, self.head))


def heads_digest(heads: dict) -> str:
    body = json.dumps({str(k): list(v) for k, v in heads.items()}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def _printed_sig(at: str, entries: int, head: str) -> str:
    return crypto.mac(f"audit-checkpoint-printed|{at}|{entries}|{head}".encode())[:16]


def printed(point: AuditCheckpoint) -> PrintedCheckpoint:
    at = timezone.localtime(point.created_at).replace(microsecond=0).isoformat()
    entries = sum(int(seq) for seq, _mac in point.heads.values())  # seqs count from 1 without gaps
    head = heads_digest(point.heads)
    return PrintedCheckpoint(at, entries, head, _printed_sig(at, entries, head))


def latest_printed() -> PrintedCheckpoint | None:
    """The newest checkpoint in its printed form (notices carry it), or None before the first checkpoint."""
    point = AuditCheckpoint.objects.order_by("-id").first()
    return printed(point) if point else None


def parse_printed(text: str) -> PrintedCheckpoint:
    """Read a checkpoint typed in from a printed notice (the GZCP … part; the words around it are ignored)."""
    found = _PRINTED_RE.search(text or "")
    if not found:
        raise PrintedCheckpointError(
            "无法识别检查点：应为“GZCP 时间 n=条目数 head=16位 sig=16位”",
            "cannot read the checkpoint: expected 'GZCP <time> n=<entries> head=<16 hex> sig=<16 hex>'",
        )
    try:  # the time as printed (ISO, local offset); a lower-case "t" typed in is the same time
        at = datetime.fromisoformat(found["at"].upper()).isoformat()
    except ValueError:
        raise PrintedCheckpointError("检查点时间无效", "the checkpoint's time is not a valid time") from None
    return PrintedCheckpoint(at, int(found["n"]), found["head"].lower(), found["sig"].lower())


def verify_printed(text: str) -> Iterator[VerifyProblem]:
    """Check the log against a checkpoint read off a notice — the copy an insider cannot reach. Its signature must
    be ours; the log must still hold at least as many entries; and the checkpoint it names must still be on
    record (database or file) with every chain reaching the heads it saw. So cutting the log's tail and the
    checkpoints after it, or rewriting both, is found from the printed line alone."""
    point = parse_printed(text)
    if not point.genuine:
        yield VerifyProblem(0, -1, 0, "printed checkpoint: the signature does not match (mistyped, or forged)")
        return
    now = AuditEntry.objects.count()
    if now < point.entries:
        yield VerifyProblem(
            0,
            -1,
            0,
            f"truncated: the checkpoint printed at {point.at} counted {point.entries} entries, the log now holds {now}",
        )
    stored = [row.heads for row in AuditCheckpoint.objects.order_by("id")]
    for line in _file_checkpoints():
        if (
            "broken" not in line
            and crypto.mac(_checkpoint_body(line["at"], line["heads"], line["prev"])) == line["mac"]
        ):
            stored.append(line["heads"])
    heads = next((h for h in stored if heads_digest(h) == point.head), None)
    if heads is None:
        yield VerifyProblem(
            0,
            -1,
            0,
            f"the checkpoint printed at {point.at} is in neither the database nor the checkpoint file (removed)",
        )
        return
    yield from _reaches(heads, f"the checkpoint printed at {point.at}")


def diff(before: dict, after: dict, personal: frozenset[str] = frozenset()) -> dict:
    """Field-level changes; personal fields are named but their values are not copied into the log."""
    out: dict[str, object] = {}
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            if key in personal:
                out[key] = PERSONAL
            else:
                out[key] = [before.get(key), after.get(key)]
    return out
