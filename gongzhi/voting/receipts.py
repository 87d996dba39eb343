"""The ballot log (选票日志) and receipt codes (回执码).

Each accepted ballot appends one entry to its vote's hash chain: (vote, seq, previous MAC, the head's opaque
roll token, a salted commitment to the choice, time), sealed with an HMAC under the platform's look-up key
(never the web secret). The public log therefore shows that head #token voted at a time, never how; the salt
stays in the private ballot row, so only someone holding the ballot can open the commitment.

The voter's receipt code is 12 characters of Crockford base-32 (60 bits) derived from the entry's MAC,
shown as ``XXXX-XXXX-XXXX``. Anyone can look a code up and learn "counted as cast at <time>, entry #n";
a signed-in voter also sees which choice was recorded.

`verify_ballot_log(vote)` walks the chain and checks every link, every MAC, every commitment against its
ballot, and that ballots and entries match one to one. Command: ``manage.py verify_ballot_log [VOTE_ID]``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from gongzhi.core import crypto
from gongzhi.voting.models import Ballot, BallotLogEntry

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


def append(vote, *, roll_token: str, choice: str, salt: str, at: datetime, save: bool = True):
    """Append one entry. The caller holds the vote row locked (see actions.cast_ballot) and saves the vote;
    with save=False the entry is returned unsaved, for the caller to save with the vote (`save_with_counters`)."""
    at = at.astimezone(UTC)  # the MAC covers the ISO text: always UTC, as the database returns it
    seq = vote.log_length + 1
    commit = commitment(vote.pk, roll_token, choice, salt)
    mac = entry_mac(vote.pk, seq, vote.log_head, roll_token, commit, at)
    entry = BallotLogEntry(
        vote=vote,
        seq=seq,
        roll_token=roll_token,
        commitment=commit,
        recorded_at=at,
        prev_mac=vote.log_head,
        mac=mac,
        receipt_code=receipt_code(mac),
    )
    if save:
        entry.save(force_insert=True)
    vote.log_length, vote.log_head = seq, mac
    return entry


_LOG_AND_COUNTERS = """
    WITH entry AS (
        INSERT INTO voting_ballotlogentry (vote_id, seq, roll_token, commitment, recorded_at, prev_mac, mac, receipt_code)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
    ), counters AS (
        UPDATE voting_vote SET ballot_count = %s, participating_area = %s, log_length = %s, log_head = %s WHERE id = %s
    )
    SELECT id FROM entry
"""


def save_with_counters(vote, entry: BallotLogEntry) -> None:
    """Save a new log entry and the vote's counters and chain head, under the vote row's lock. On PostgreSQL one
    statement (a data-modifying CTE): one round trip fewer while every other ballot of the vote waits."""
    from django.db import connection

    if connection.vendor != "postgresql":
        entry.save(force_insert=True)
        vote.save(update_fields=["ballot_count", "participating_area", "log_length", "log_head"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _LOG_AND_COUNTERS,
            [
                vote.pk, entry.seq, entry.roll_token, entry.commitment, entry.recorded_at, entry.prev_mac, entry.mac,
                entry.receipt_code, vote.ballot_count, vote.participating_area, vote.log_length, vote.log_head, vote.pk,
            ],
        )  # fmt: skip
        entry.pk = cursor.fetchone()[0]
    entry._state.adding = False


@dataclass
class LogProblem:
    seq: int
    reason_zh: str
    reason_en: str

    def __str__(self) -> str:
        return f"#{self.seq}: {self.reason_zh} / {self.reason_en}"


def verify_ballot_log(vote, batch: int = 5000) -> list[LogProblem]:
    """Check the vote's chain end to end; an empty list means intact. Reads in key-ordered pages."""
    problems: list[LogProblem] = []
    ballots = {
        token: (choice, salt)
        for token, choice, salt in Ballot.objects.filter(vote=vote).values_list("roll_entry__token", "choice", "salt")
    }
    seen: set[str] = set()
    expected, prev, last = 1, GENESIS, 0
    while True:
        page = list(BallotLogEntry.objects.filter(vote=vote, seq__gt=last).order_by("seq")[:batch])
        if not page:
            break
        for e in page:
            if e.seq != expected:
                problems.append(LogProblem(expected, "日志缺少条目", "entry missing from the log"))
                return problems
            if e.prev_mac != prev:
                problems.append(LogProblem(e.seq, "与上一条目的链接断开", "link to the previous entry is broken"))
                return problems
            if not hmac.compare_digest(
                e.mac, entry_mac(vote.pk, e.seq, e.prev_mac, e.roll_token, e.commitment, e.recorded_at)
            ):
                problems.append(
                    LogProblem(e.seq, "条目内容与校验码不符（被改动）", "entry does not match its MAC (altered)")
                )
                return problems
            if e.receipt_code != receipt_code(e.mac):
                problems.append(LogProblem(e.seq, "回执码与条目不符", "receipt code does not match the entry"))
            ballot = ballots.get(e.roll_token)
            if ballot is None:
                problems.append(LogProblem(e.seq, "条目没有对应的选票", "entry has no ballot"))
            elif commitment(vote.pk, e.roll_token, *ballot) != e.commitment:
                problems.append(
                    LogProblem(e.seq, "选票内容与日志承诺值不符", "ballot does not match the logged commitment")
                )
            seen.add(e.roll_token)
            expected, prev, last = e.seq + 1, e.mac, e.seq
    if last != vote.log_length or prev != vote.log_head:
        problems.append(
            LogProblem(
                last, "日志末尾与表决记录的链头不符（条目被删除？）", "log end does not match the vote's chain head"
            )
        )
    for token in sorted(set(ballots) - seen):
        problems.append(LogProblem(0, f"选票 {token} 不在日志中", f"ballot {token} is missing from the log"))
    return problems
