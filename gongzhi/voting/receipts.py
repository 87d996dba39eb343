"""The ballot log (选票日志), its signed tree heads and receipt codes (回执码).

Each accepted ballot adds one leaf to its vote's log: (vote, the head's opaque roll token, a salted commitment to
the choice, time), sealed with an HMAC under the platform's look-up key (never the web secret). The leaf is
written in the ballot's own transaction **without a lock on the vote**: one vote's ballots contend only on the
unique (vote, head) index. The sealer (`seal`) then numbers the new leaves, appends them to the vote's Merkle tree
(RFC 6962, `merkle.py`), signs the new tree head with the log's Ed25519 key and adds the batch to the vote's
running counters — in the ballot's transaction when nobody else is sealing that vote (at low load every ballot
seals itself), otherwise in whichever ballot seals next, the minute job (`advance_votes`) or the vote's closing,
which seals everything first. So in a burst the log is sealed in batches and no ballot waits for another.

The public log shows that head #token voted at a time, never how; the salt stays in the private ballot row, so
only someone holding the ballot can open the commitment. The voter's receipt code is 12 characters of Crockford
base-32 (60 bits) derived from the leaf's MAC, shown as ``XXXX-XXXX-XXXX``: anyone can look a code up and learn
"counted as cast at <time>, entry #n", download the entry's inclusion proof in the latest signed tree head and
check it with `merkle.py` alone; a signed-in voter also sees which choice was recorded.

`verify_ballot_log(vote)` checks every leaf's MAC, commitment and ballot one to one, the numbering, and every
signed head: its signature and its root recomputed over that many leaves (so the log only ever grew). Entries
from before the Merkle log keep their hash chain (`prev_mac`), which is checked as before. Command:
``manage.py verify_ballot_log [VOTE_ID]``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache

from django.db import connection, transaction
from django.db.models import Case, OuterRef, Subquery, Sum, Value, When

from gongzhi.core import crypto
from gongzhi.voting import merkle
from gongzhi.voting.models import Ballot, BallotLogEntry, BallotTreeHead, Vote, VoterRollEntry

GENESIS = "0" * 64
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_LENGTH = 12


def new_salt() -> str:
    return secrets.token_hex(16)


def commitment(vote_id: int, roll_token: str, choice: str, salt: str) -> str:
    """SHA-256 over the choice and a 128-bit salt: binding, and hiding while the salt stays private."""
    return hashlib.sha256(f"gongzhi-ballot:{vote_id}:{roll_token}:{choice}:{salt}".encode()).hexdigest()


def canonical(vote_id: int, seq: int, prev_mac: str, roll_token: str, commit: str, at: datetime) -> bytes:
    at = at.astimezone(UTC)
    body = {"vote": vote_id, "seq": seq, "prev": prev_mac, "token": roll_token, "commit": commit, "at": at.isoformat()}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def entry_mac(vote_id: int, seq: int, prev_mac: str, roll_token: str, commit: str, at: datetime) -> str:
    return crypto.mac(canonical(vote_id, seq, prev_mac, roll_token, commit, at))


def receipt_code(mac: str) -> str:
    """12 base-32 characters derived from an entry MAC (keyed again, so the code alone forges nothing)."""
    digest = crypto.mac(f"receipt:{mac}".encode())
    value = int(digest[:16], 16) >> 4  # 60 bits
    chars = []
    for _ in range(CODE_LENGTH):
        value, rem = divmod(value, 32)
        chars.append(ALPHABET[rem])
    return "".join(reversed(chars))


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def normalize_code(text: str) -> str | None:
    """Accept what people type: lower case, spaces, dashes, O for 0, I/L for 1. None if it cannot be a code."""
    raw = re.sub(r"[\s\-_.]", "", (text or "").upper()).translate(_CONFUSABLE)
    if len(raw) != CODE_LENGTH or any(c not in ALPHABET for c in raw):
        return None
    return raw


def leaf_bytes(vote_id: int, roll_token: str, commit: str, at: datetime, mac: str) -> bytes:
    """A leaf of the Merkle tree: the entry as published, its MAC included."""
    at = at.astimezone(UTC)
    body = {"vote": vote_id, "token": roll_token, "commit": commit, "at": at.isoformat(), "mac": mac}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def leaf_mac(vote_id: int, roll_token: str, commit: str, at: datetime) -> str:
    at = at.astimezone(UTC)
    body = {"kind": "leaf", "vote": vote_id, "token": roll_token, "commit": commit, "at": at.isoformat()}
    return crypto.mac(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def new_entry(vote, *, roll_token: str, choice: str, salt: str, at: datetime) -> BallotLogEntry:
    """One pending leaf (not yet numbered), unsaved: the caller saves it in the ballot's transaction."""
    at = at.astimezone(UTC)  # the MAC covers the ISO text: always UTC, as the database returns it
    commit = commitment(vote.pk, roll_token, choice, salt)
    mac = leaf_mac(vote.pk, roll_token, commit, at)
    return BallotLogEntry(
        vote=vote,
        seq=None,
        roll_token=roll_token,
        commitment=commit,
        recorded_at=at,
        prev_mac="",
        mac=mac,
        leaf_hash=merkle.leaf_hash(leaf_bytes(vote.pk, roll_token, commit, at, mac)),
        receipt_code=receipt_code(mac),
    )


# ------------------------------------------------------------------------------------------ signing key


@cache
def _signing_key():
    """The log's Ed25519 key, derived from the look-up key (HKDF-SHA256): nothing new to keep or back up."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"gongzhi ballot log signing key v1").derive(
        crypto._lookup_key()
    )
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key() -> str:
    """The log's public key (hex), published on the log page and in every proof."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return _signing_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def sign_head(vote_id: int, size: int, root_hash: str, at: datetime) -> str:
    return _signing_key().sign(merkle.head_bytes(vote_id, size, root_hash, at.astimezone(UTC).isoformat())).hex()


# ------------------------------------------------------------------------------------------ sealing

PG_LOCK_NAMESPACE = 0x4756  # "GV": pg_*advisory_xact_lock(namespace, vote id) — one vote's sealer at a time


def lock_log(vote_id: int, *, wait: bool = True) -> bool:
    """Take the vote's sealing lock until the transaction ends (PostgreSQL). Anyone who locks the vote row for an
    update takes this first, so the sealer never waits for a row lock held by someone waiting for it. SQLite
    serialises writers itself: always True there."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        cursor.execute(f"SELECT {fn}(%s::integer, %s::integer)", [PG_LOCK_NAMESPACE, vote_id])
        return wait or bool(cursor.fetchone()[0])


@dataclass
class Sealed:
    count: int  # leaves sealed now
    numbers: dict[int, int]  # entry id → seq, for those leaves
    ballot_count: int
    participating_area: object
    log_length: int
    log_head: str


def seal(
    vote_id: int, *, wait: bool = True, held: bool = False, now: datetime | None = None, limit: int = 20_000
) -> Sealed | None:
    """Number the vote's pending leaves, append them to its tree, sign the new head and count them.

    With wait=False it gives way at once if another transaction is sealing this vote (that one, or the next, takes
    these leaves): the ballot's path never queues; held=True when the caller has taken the sealing lock already.
    Returns None when it gave way or nothing was pending. Runs in the caller's transaction (no savepoint: a
    failure here is the ballot's failure), or in its own."""
    with transaction.atomic(savepoint=False):
        if not held and not lock_log(vote_id, wait=wait):
            return None
        return _seal(vote_id, now=now, limit=limit)


_SEAL_WRITE = """
    WITH numbered AS (
        UPDATE voting_ballotlogentry AS e SET seq = n.seq
        FROM unnest(%s::bigint[], %s::integer[]) AS n(id, seq) WHERE e.id = n.id
    ), head AS (
        INSERT INTO voting_ballottreehead (vote_id, tree_size, root_hash, sealed_at, signature)
        VALUES (%s, %s, %s, %s, %s)
    )
    UPDATE voting_vote SET ballot_count = %s, participating_area = %s, log_length = %s, log_head = %s,
        log_frontier = %s::jsonb
    WHERE id = %s
"""


_SEAL_READ = """
    SELECT v.log_length, v.log_frontier, v.ballot_count, v.participating_area, p.id, p.leaf_hash, p.area
    FROM voting_vote v LEFT JOIN LATERAL (
        SELECT e.id, e.leaf_hash, r.area FROM voting_ballotlogentry e
        LEFT JOIN voting_voterrollentry r ON r.vote_id = e.vote_id AND r.token = e.roll_token
        WHERE e.vote_id = v.id AND e.seq IS NULL ORDER BY e.id LIMIT %s
    ) p ON true
    WHERE v.id = %s
"""


def _pending(vote_id: int, limit: int) -> tuple[tuple, list[tuple]]:
    """The vote's log state (size, frontier, ballots, area) and its pending leaves (id, leaf hash, area), in the
    order written. Read under the sealing lock, where only the sealer writes them."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_SEAL_READ, [limit, vote_id])
            rows = cursor.fetchall()
        size, frontier, ballots, area = rows[0][:4]
        if isinstance(frontier, str):
            frontier = json.loads(frontier)
        return (size, frontier, ballots, area), [r[4:] for r in rows if r[4] is not None]
    state = Vote.objects.values_list("log_length", "log_frontier", "ballot_count", "participating_area").get(pk=vote_id)
    area = VoterRollEntry.objects.filter(vote_id=vote_id, token=OuterRef("roll_token")).values("area")[:1]
    pending = list(
        BallotLogEntry.objects.filter(vote_id=vote_id, seq__isnull=True)
        .order_by("id")
        .annotate(area=Subquery(area))
        .values_list("id", "leaf_hash", "area")[:limit]
    )
    return state, pending


def _seal(vote_id: int, *, now: datetime | None, limit: int) -> Sealed | None:
    (size, frontier, ballot_count, area_total), pending = _pending(vote_id, limit)
    if not pending:
        return None
    numbers: dict[int, int] = {}
    for pk, leaf, entry_area in pending:
        frontier = merkle.append(frontier, size, leaf)
        size += 1
        numbers[pk] = size
        area_total += entry_area or 0
    ballot_count += len(pending)
    root = merkle.frontier_root(frontier)
    at = (now or datetime.now(UTC)).astimezone(UTC)
    signature = sign_head(vote_id, size, root, at)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _SEAL_WRITE,
                [
                    list(numbers), list(numbers.values()), vote_id, size, root, at, signature,
                    ballot_count, area_total, size, root, json.dumps(frontier), vote_id,
                ],
            )  # fmt: skip
    else:
        cases = [When(pk=pk, then=Value(n)) for pk, n in numbers.items()]
        BallotLogEntry.objects.filter(pk__in=list(numbers)).update(seq=Case(*cases))
        BallotTreeHead.objects.create(
            vote_id=vote_id, tree_size=size, root_hash=root, sealed_at=at, signature=signature
        )
        Vote.objects.filter(pk=vote_id).update(
            ballot_count=ballot_count, participating_area=area_total, log_length=size, log_head=root,
            log_frontier=frontier,
        )  # fmt: skip
    return Sealed(len(pending), numbers, ballot_count, area_total, size, root)


def seal_all(*, now: datetime | None = None) -> int:
    """Seal every vote's pending leaves (the minute job): what a burst's last ballots left."""
    votes = BallotLogEntry.objects.filter(seq__isnull=True).values_list("vote_id", flat=True).distinct()
    done = 0
    for vote_id in sorted(set(votes)):
        sealed = seal(vote_id, wait=True, now=now)
        done += sealed.count if sealed else 0
    return done


# ------------------------------------------------------------------------------------------ proofs


@dataclass
class Proof:
    entry: BallotLogEntry
    head: BallotTreeHead
    path: list[str]

    def as_json(self) -> dict:
        e, h = self.entry, self.head
        return {
            "vote": e.vote_id,
            "index": e.seq - 1,
            "leaf": leaf_bytes(e.vote_id, e.roll_token, e.commitment, e.recorded_at, e.mac).decode(),
            "leaf_hash": e.leaf_hash,
            "path": self.path,
            "tree_head": {
                "size": h.tree_size,
                "root": h.root_hash,
                "at": h.sealed_at.astimezone(UTC).isoformat(),
                "signature": h.signature,
            },
            "public_key": public_key(),
            "check": "python -m gongzhi.voting.merkle proof.json",
        }


def inclusion_proof(entry: BallotLogEntry) -> Proof | None:
    """The entry's audit path in its vote's latest signed tree head; None while the entry is pending."""
    if entry.seq is None:
        return None
    head = BallotTreeHead.objects.filter(vote_id=entry.vote_id).order_by("-tree_size").first()
    if head is None or head.tree_size < entry.seq:
        return None
    leaves = list(
        BallotLogEntry.objects.filter(vote_id=entry.vote_id, seq__lte=head.tree_size)
        .order_by("seq")
        .values_list("leaf_hash", flat=True)
    )
    return Proof(entry, head, merkle.inclusion_path(entry.seq - 1, leaves))


@dataclass
class LogProblem:
    seq: int
    reason_zh: str
    reason_en: str

    def __str__(self) -> str:
        return f"#{self.seq}: {self.reason_zh} / {self.reason_en}"


def verify_ballot_log(vote, batch: int = 5000) -> list[LogProblem]:
    """Check the vote's log end to end; an empty list means intact. Reads in key-ordered pages."""
    problems: list[LogProblem] = []
    ballots = {
        token: (choice, salt)
        for token, choice, salt in Ballot.objects.filter(vote=vote).values_list("roll_entry__token", "choice", "salt")
    }
    heads = list(BallotTreeHead.objects.filter(vote=vote).order_by("tree_size"))
    pk = vote.pk
    seen: set[str] = set()

    def check_entry(e: BallotLogEntry, where: int) -> None:
        leaf = merkle.leaf_hash(leaf_bytes(pk, e.roll_token, e.commitment, e.recorded_at, e.mac))
        if e.leaf_hash != leaf:
            problems.append(
                LogProblem(where, "条目与其叶哈希不符（被改动）", "entry does not match its leaf hash (altered)")
            )
        if e.receipt_code != receipt_code(e.mac):
            problems.append(LogProblem(where, "回执码与条目不符", "receipt code does not match the entry"))
        ballot = ballots.get(e.roll_token)
        if ballot is None:
            problems.append(LogProblem(where, "条目没有对应的选票", "entry has no ballot"))
        elif commitment(pk, e.roll_token, *ballot) != e.commitment:
            problems.append(
                LogProblem(where, "选票内容与日志承诺值不符", "ballot does not match the logged commitment")
            )
        seen.add(e.roll_token)

    expected, chain, last = 1, GENESIS, 0
    frontier: list[str] = []
    next_head = 0
    while True:
        page = list(BallotLogEntry.objects.filter(vote=vote, seq__gt=last).order_by("seq")[:batch])
        if not page:
            break
        for e in page:
            if e.seq != expected:
                problems.append(LogProblem(expected, "日志缺少条目", "entry missing from the log"))
                return problems
            if e.prev_mac:  # written as a hash chain, before the Merkle log
                if e.prev_mac != chain:
                    problems.append(LogProblem(e.seq, "与上一条目的链接断开", "link to the previous entry is broken"))
                    return problems
                good = entry_mac(pk, e.seq, e.prev_mac, e.roll_token, e.commitment, e.recorded_at)
                chain = e.mac
            else:
                good = leaf_mac(pk, e.roll_token, e.commitment, e.recorded_at)
            if not hmac.compare_digest(e.mac, good):
                problems.append(
                    LogProblem(e.seq, "条目内容与校验码不符（被改动）", "entry does not match its MAC (altered)")
                )
                return problems
            check_entry(e, e.seq)
            frontier = merkle.append(frontier, e.seq - 1, e.leaf_hash)
            while next_head < len(heads) and heads[next_head].tree_size == e.seq:
                _check_head(vote, heads[next_head], merkle.frontier_root(frontier), problems)
                next_head += 1
            expected, last = e.seq + 1, e.seq
    for head in heads[next_head:]:
        problems.append(
            LogProblem(
                head.tree_size, "签名树根超出日志长度（条目被删除？）", "a signed tree head is longer than the log"
            )
        )
    root = merkle.frontier_root(frontier) if last else GENESIS
    if last != vote.log_length or root != vote.log_head:
        problems.append(
            LogProblem(
                last, "日志末尾与表决记录的树根不符（条目被删除？）", "log end does not match the vote's tree root"
            )
        )
    # The vote's kept counts (turnout pages read them) against the sealed log they were added up from.
    sealed_area = VoterRollEntry.objects.filter(
        vote=vote, token__in=BallotLogEntry.objects.filter(vote=vote, seq__isnull=False).values("roll_token")
    ).aggregate(total=Sum("area"))["total"] or Decimal(0)
    if vote.ballot_count != last:
        problems.append(
            LogProblem(
                last,
                f"表决记录的票数 {vote.ballot_count} 与已封存的日志条目数 {last} 不符",
                f"the vote's ballot count {vote.ballot_count} differs from the {last} sealed log entries",
            )
        )
    if vote.participating_area != sealed_area:
        problems.append(
            LogProblem(
                last,
                f"表决记录的参与面积 {vote.participating_area} 与已封存选票的面积合计 {sealed_area} 不符",
                f"the vote's participating area {vote.participating_area} differs from the sealed ballots' {sealed_area}",
            )
        )
    pending = list(BallotLogEntry.objects.filter(vote=vote, seq__isnull=True).order_by("id"))
    for e in pending:
        if not hmac.compare_digest(e.mac, leaf_mac(pk, e.roll_token, e.commitment, e.recorded_at)):
            problems.append(LogProblem(0, "待封存条目与校验码不符（被改动）", "a pending entry does not match its MAC"))
        check_entry(e, 0)
    if pending and vote.is_finished:
        problems.append(LogProblem(0, "表决已截止，仍有条目未封存", "the vote is closed but entries are not sealed"))
    for token in sorted(set(ballots) - seen):
        problems.append(LogProblem(0, f"选票 {token} 不在日志中", f"ballot {token} is missing from the log"))
    return problems


def _check_head(vote, head: BallotTreeHead, root: str, problems: list[LogProblem]) -> None:
    if head.root_hash != root:
        problems.append(
            LogProblem(
                head.tree_size, "签名树根与日志内容不符（日志被改写）", "a signed tree head does not match the log"
            )
        )
    at = head.sealed_at.astimezone(UTC).isoformat()
    if not merkle.verify_head_signature(public_key(), vote.pk, head.tree_size, head.root_hash, at, head.signature):
        problems.append(LogProblem(head.tree_size, "签名树根的签名无效", "a tree head's signature does not verify"))
