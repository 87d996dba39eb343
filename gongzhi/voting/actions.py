"""Every change to a vote goes through these functions: permission, transaction, audit entry.

Timeline: call (freezes the roll) → publish the roll (the notice period starts; 物业管理条例 Art. 14: 15 days
for an owners' assembly, counted per Civil Code Arts. 201–203) → open → close (the tally is stored) → certify.

One ballot per head rests on the database constraint (vote, roll_entry); a retried submission with the same
idempotency key returns the first result. Lock order inside `cast_ballot`: the ballot row first (its unique
index), then the vote row (`select_for_update`, to append to the vote's ballot log and running totals), then the
tail of an audit chain (`audit.record`) — no action takes them the other way round, so concurrent ballots
cannot deadlock.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from django.db import IntegrityError, connection, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from gongzhi.core import audit, pii
from gongzhi.core.calendar import calendar_from
from gongzhi.core.gate import require
from gongzhi.core.idempotency import first_with_key
from gongzhi.core.models import Upload, User
from gongzhi.core.rows import Read, insert, insert_unless_taken
from gongzhi.core.uploads import store_upload
from gongzhi.registry.actions import resolve_unit_set
from gongzhi.registry.models import AreaNode, Ownership, Person, Residence, Unit, UnitSet
from gongzhi.voting import receipts
from gongzhi.voting.models import Ballot, BallotLogEntry, Vote, VoterRollEntry, VoterRollUnit
from gongzhi.voting.selectors import outcome_snapshot, tally_vote
from gongzhi.voting.tally import Matter, TallyInputError, UnitHolding, exact_sum, merge_heads, unit_area

OWNERS_ASSEMBLY_NOTICE_DAYS = 15  # 物业管理条例 Art. 14


class VoteError(ValueError):
    """A refused vote action: Chinese and English message, the field at fault, the HTTP status to answer."""

    status = 400
    code = "invalid"

    def __init__(self, zh: str, en: str, *, field: str | None = None, status: int | None = None, code: str = ""):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en, self.field = zh, en, field
        if status:
            self.status = status
        if code:
            self.code = code


class AlreadyVoted(VoteError):
    status = 409
    code = "already_voted"

    def __init__(self, ballot: Ballot):
        when = timezone.localtime(ballot.cast_at).strftime("%Y-%m-%d %H:%M")
        channel = Ballot.Channel(ballot.channel)
        super().__init__(
            f"该户已投票（渠道：{channel.label}，时间：{when}），每户只能投一票",
            f"this owner has already voted (channel: {channel.value}, at {when}); one ballot per owner",
            field="roll_entry",
        )
        self.ballot = ballot


class VotingClosed(VoteError):
    status = 409
    code = "not_open"


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


# ----------------------------------------------------------------------------------------- schedule


def notice_schedule(published_on: date, notice_days: int) -> tuple[date, date]:
    """(last day of the notice period, first day voting may open). The publication day is not counted and a
    period ending on a holiday runs to the next working day (Civil Code Arts. 201, 203); voting opens only
    after the whole period has run."""
    ends = calendar_from(published_on).period_end(published_on, notice_days)
    return ends, ends + timedelta(days=1)


def _check_dates(opens_at: datetime | None, closes_at: datetime | None) -> None:
    if opens_at is None:
        raise VoteError("开始投票时间不能为空", "opening time is required", field="opens_at")
    if closes_at is None:
        raise VoteError("截止投票时间不能为空", "closing time is required", field="closes_at")
    if closes_at <= opens_at:
        raise VoteError("截止时间必须晚于开始时间", "closing time must be after the opening time", field="closes_at")


# -------------------------------------------------------------------------------------- call a vote


def _common_scope(nodes: list[AreaNode]) -> AreaNode:
    parts = [n.path.strip("/").split("/") for n in nodes]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    if not common:
        raise VoteError("所选区域不在同一区内", "the chosen areas share no common area", field="nodes")
    return AreaNode.objects.get(pk=int(common[-1]))


@transaction.atomic
def call_vote(
    *,
    actor: User | None,
    kind: str = Vote.Kind.OWNER,
    subject: str,
    opens_at: datetime,
    closes_at: datetime,
    matter: str = "",
    unit_set: UnitSet | None = None,
    nodes: Iterable[AreaNode] = (),
    description: str = "",
    notice_days: int | None = None,
    matter_ref: str = "",
    consent: tuple[int, int] = (4, 5),
    consent_inclusive: bool = True,
) -> Vote:
    """Call a vote over a unit set (or area nodes) and freeze its voter roll now."""
    subject = (subject or "").strip()
    if not subject:
        raise VoteError("表决事项不能为空", "subject is required", field="subject")
    if kind not in Vote.Kind.values:
        raise VoteError("表决类型无效", "unknown vote kind", field="kind")
    if kind == Vote.Kind.OWNER:
        if matter not in {m.value for m in Matter}:
            raise VoteError(
                "请选择《民法典》第二百七十八条规定的表决事项",
                "choose one of the nine Art. 278 matters",
                field="matter",
            )
    else:
        matter = ""
    num, den = consent
    if kind == Vote.Kind.CONSENT and not (0 < num <= den):
        raise VoteError("同意比例无效", "consent threshold must be a fraction in (0, 1]", field="consent")
    _check_dates(opens_at, closes_at)
    minimum = OWNERS_ASSEMBLY_NOTICE_DAYS if kind == Vote.Kind.OWNER else 1
    notice_days = minimum if notice_days is None else notice_days
    if notice_days < minimum:
        raise VoteError(
            f"业主共同决定事项须提前{minimum}日通知全体业主",
            f"owners must be notified at least {minimum} days ahead",
            field="notice_days",
        )
    nodes = list(nodes)
    if unit_set is None and not nodes:
        raise VoteError(
            "请选择参加表决的房屋范围", "choose the units that vote (a unit set or areas)", field="unit_set"
        )
    scope = unit_set.scope if unit_set is not None else _common_scope(nodes)
    require(actor, "voting.add_vote", scope)
    if unit_set is not None:
        units = resolve_unit_set(unit_set)
    else:
        q = Q(pk__in=[])
        for n in nodes:
            q |= Q(path__startswith=n.path)
        units = Unit.objects.filter(q)

    vote = Vote.objects.create(
        kind=kind,
        subject=subject,
        description=description,
        matter=matter,
        matter_ref=matter_ref,
        consent_numerator=num if kind == Vote.Kind.CONSENT else None,
        consent_denominator=den if kind == Vote.Kind.CONSENT else None,
        consent_inclusive=consent_inclusive,
        unit_set=unit_set,
        scope=scope,
        path=scope.path,
        notice_days=notice_days,
        opens_at=opens_at,
        closes_at=closes_at,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    _freeze_roll(vote, units)
    audit.record(
        "voting.call_vote",
        vote,
        actor=actor,
        changes={
            "subject": subject,
            "kind": kind,
            "matter": matter,
            "matter_ref": matter_ref,
            "unit_set": unit_set.pk if unit_set else None,
            "nodes": [n.pk for n in nodes],
            "heads": vote.total_heads,
            "units": vote.total_units,
            "area": str(vote.total_area),
        },
    )
    return vote


@dataclass
class _UnitRow:
    id: int
    label: str
    number: str
    building_id: int | None
    area: Decimal
    source: str
    order: tuple


def _unit_rows(vote: Vote, units: QuerySet[Unit]) -> dict[int, _UnitRow]:
    names = {
        pk: (name, code)
        for pk, name, code in AreaNode.objects.filter(
            path__startswith=vote.path, level__code__in=("building", "entrance")
        ).values_list("pk", "name", "level__code")
    }
    rows: dict[int, _UnitRow] = {}
    missing: list[str] = []
    for pk, path, number, reg, sur, con in units.order_by("path", "number", "pk").values_list(
        "pk", "path", "number", "area_registered", "area_surveyed", "area_contract"
    ):
        ids = [int(p) for p in path.strip("/").split("/") if p]
        on_path = [names[i] for i in ids if i in names]
        building_id = next((i for i in ids if names.get(i, ("", ""))[1] == "building"), None)
        label = "".join(name for name, _code in on_path) + number
        try:
            area, source = unit_area(reg, sur, con)
        except TallyInputError:
            missing.append(label)
            continue
        rows[pk] = _UnitRow(pk, label, number, building_id, area, source.value, (len(rows),))
    if missing:
        shown = "、".join(missing[:10]) + ("等" if len(missing) > 10 else "")
        raise VoteError(
            f"{len(missing)}户房屋没有面积（登记、测绘、合同面积均缺失）：{shown}",
            f"{len(missing)} unit(s) have no area (registered, surveyed and contract area all missing)",
            field="unit_set",
        )
    if not rows:
        raise VoteError("所选范围内没有房屋", "the chosen set contains no units", field="unit_set")
    return rows


def _insert_rows(model: type[Model], fields: list[str], rows: list[tuple]) -> None:
    """Insert plain tuples (values in `fields` order, ids left to the table's sequence): COPY on PostgreSQL,
    one prepared INSERT run over all rows elsewhere. A roll of 100,000 units through `bulk_create` spent most
    of its time building model instances and SQL text (see bench/VOTING.md)."""
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    cols = ", ".join(qn(model._meta.get_field(f).column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY {table} ({cols}) FROM STDIN"
            started = time.monotonic()
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
            if connection.queries_logged:  # COPY bypasses Django's cursor: count it like any other query
                connection.queries_log.append(
                    {"sql": f"{sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"}
                )
        else:
            marks = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)


ENTRY_FIELDS = [
    "vote",
    "number",
    "token",
    "developer",
    "voter",
    "name_masked",
    "units_label",
    "unit_count",
    "area",
    "area_source",
]
ROLL_UNIT_FIELDS = ["vote", "entry", "unit", "token", "building", "label", "number", "area", "area_source"]


def _freeze_roll(vote: Vote, units: QuerySet[Unit]) -> None:
    """Freeze the roll with a fixed number of queries: read the units and their owners (or residents), merge
    the heads in memory (SPC Interpretation Art. 9), insert the entries, read back their ids by token, insert
    the units."""
    rows = _unit_rows(vote, units)
    unit_ids = units.values("pk")
    people: dict[int, tuple[str, str]] = {}
    if vote.kind == Vote.Kind.OWNER:
        heads = _owner_heads(rows, unit_ids, people)
    else:
        heads = _household_heads(rows, unit_ids, people)

    # Roll order: the order of each head's first unit (building, entrance, number).
    heads.sort(key=lambda h: min(rows[u].order for u in h[2]))
    used: set[str] = set()

    def token() -> str:
        while True:
            t = secrets.token_hex(6)
            if t not in used:
                used.add(t)
                return t

    entries: list[tuple] = []
    areas: list[Decimal] = []
    for number, (voter_id, developer, unit_list) in enumerate(heads, start=1):
        unit_list = sorted(unit_list, key=lambda u: rows[u].order)
        sources = {rows[u].source for u in unit_list}
        if voter_id is None:
            name = "（业主未登记）"
        else:
            pname, pkind = people[voter_id]
            name = pii.mask_name(pname) if pkind == Person.Kind.NATURAL else pname
        label = "、".join(rows[u].label for u in unit_list)
        area = rows[unit_list[0]].area if len(unit_list) == 1 else exact_sum(rows[u].area for u in unit_list)
        areas.append(area)
        entries.append(
            (
                vote.pk,
                number,
                token(),
                developer,
                voter_id,
                name[:100],
                label if len(label) <= 255 else label[:254] + "…",
                len(unit_list),
                area,
                sources.pop() if len(sources) == 1 else "mixed",
            )
        )
    _insert_rows(VoterRollEntry, ENTRY_FIELDS, entries)
    ids = dict(VoterRollEntry.objects.filter(vote=vote).values_list("token", "pk"))
    roll_units: list[tuple] = []
    for entry, (_voter, _dev, unit_list) in zip(entries, heads, strict=True):
        entry_id = ids[entry[2]]
        for u in unit_list:
            r = rows[u]
            roll_units.append((vote.pk, entry_id, u, token(), r.building_id, r.label[:100], r.number, r.area, r.source))
    _insert_rows(VoterRollUnit, ROLL_UNIT_FIELDS, roll_units)
    vote.total_heads = len(entries)
    vote.total_units = len(roll_units)
    vote.total_area = exact_sum(areas)
    vote.save(update_fields=["total_heads", "total_units", "total_area"])


def _owner_heads(
    rows: dict[int, _UnitRow], unit_ids: QuerySet[Unit], people: dict
) -> list[tuple[int | None, bool, list[int]]]:
    """SPC Interpretation Art. 9: developer units as one head; one owner's units as one head; co-owners
    through their designated voter. A unit with no owner on record still counts as one head (no voter)."""
    owners: dict[int, set[int]] = defaultdict(set)
    designated: dict[int, int] = {}
    developer_units: set[int] = set()
    developer_people: set[int] = set()
    for unit_id, person_id, is_voter, dev_status, name, kind in Ownership.objects.filter(
        unit__in=unit_ids, until__isnull=True
    ).values_list("unit_id", "person_id", "is_designated_voter", "developer_status", "person__name", "person__kind"):
        if unit_id not in rows:
            continue
        people[person_id] = (name, kind)
        if dev_status:
            developer_units.add(unit_id)
            developer_people.add(person_id)
        owners[unit_id].add(person_id)
        if is_voter:
            designated[unit_id] = person_id
    undecided = [
        rows[u].label for u, who in owners.items() if u not in developer_units and len(who) > 1 and u not in designated
    ]
    if undecided:
        shown = "、".join(sorted(undecided)[:10]) + ("等" if len(undecided) > 10 else "")
        raise VoteError(
            f"{len(undecided)}户共有房屋尚未推选表决人：{shown}",
            f"{len(undecided)} co-owned unit(s) have no designated voter; the co-owners must designate one",
            field="unit_set",
        )
    holdings = []
    for u in rows:
        if u in developer_units:
            holdings.append(UnitHolding(unit_id=str(u), area=rows[u].area, developer=True))
        elif owners.get(u):
            holdings.append(
                UnitHolding(
                    unit_id=str(u),
                    area=rows[u].area,
                    owner_ids=frozenset(f"p{p}" for p in owners[u]),
                    voter_id=f"p{designated[u]}" if u in designated else None,
                )
            )
        else:
            holdings.append(UnitHolding(unit_id=str(u), area=rows[u].area, owner_ids=frozenset({f"u{u}"})))
    try:
        merged = merge_heads(holdings)
    except TallyInputError as e:
        raise VoteError(
            "按最高人民法院司法解释第九条合并计数时表决人不明确，请共有人推选一名表决人",
            f"merging owners per SPC Interpretation Art. 9 is ambiguous: {e}",
            field="unit_set",
        ) from None
    heads = []
    for head in merged:
        units_of = [int(u) for u in head.unit_ids]
        if head.developer:
            voter = min(developer_people) if developer_people else None
        elif head.id.startswith("p"):
            voter = int(head.id[1:])
        else:
            voter = None
        heads.append((voter, head.developer, units_of))
    return heads


def _household_heads(
    rows: dict[int, _UnitRow], unit_ids: QuerySet[Unit], people: dict
) -> list[tuple[int | None, bool, list[int]]]:
    """Residents' meetings and consent polls count households: every unit someone lives in or owns, voted by
    its household head, else its designated or sole owner, else its first resident."""
    head_of: dict[int, int] = {}
    owner_voter: dict[int, int] = {}
    first: dict[int, int] = {}
    for unit_id, person_id, is_head, name, kind in (
        Residence.objects.filter(unit__in=unit_ids, until__isnull=True)
        .order_by("pk")
        .values_list("unit_id", "person_id", "is_household_head", "person__name", "person__kind")
    ):
        people[person_id] = (name, kind)
        first.setdefault(unit_id, person_id)
        if is_head:
            head_of[unit_id] = person_id
    owners: dict[int, list[int]] = defaultdict(list)
    for unit_id, person_id, is_voter, name, kind in (
        Ownership.objects.filter(unit__in=unit_ids, until__isnull=True, developer_status="")
        .order_by("pk")
        .values_list("unit_id", "person_id", "is_designated_voter", "person__name", "person__kind")
    ):
        people[person_id] = (name, kind)
        owners[unit_id].append(person_id)
        if is_voter:
            owner_voter[unit_id] = person_id
    heads: list[tuple[int | None, bool, list[int]]] = []
    for u in rows:
        voter = head_of.get(u) or owner_voter.get(u) or (owners[u][0] if owners.get(u) else None) or first.get(u)
        if voter is not None:
            heads.append((voter, False, [u]))
    if not heads:
        raise VoteError("所选范围内没有登记住户", "no households are recorded in the chosen set", field="unit_set")
    return heads


# -------------------------------------------------------------------------------------------- timeline


def _locked(vote: Vote, *fields: str) -> Vote:
    """The vote row, locked until the transaction ends (`fields`: read only those). The log's sealing lock is taken
    first (receipts.lock_log), so a sealer updating the counters never waits for a lock held by someone waiting
    for it; ballots themselves only share-lock the row (`_hold_open`)."""
    receipts.lock_log(vote.pk)
    qs = Vote.objects.select_for_update(of=("self",))
    return (qs.only(*fields) if fields else qs).get(pk=vote.pk)


def _refresh(target: Vote, source: Vote) -> Vote:
    target.__dict__.update({f.attname: getattr(source, f.attname) for f in Vote._meta.concrete_fields})
    return target


@transaction.atomic
def reschedule_vote(vote: Vote, *, actor: User | None, opens_at: datetime, closes_at: datetime) -> Vote:
    require(actor, "voting.manage_vote", vote)
    locked = _locked(vote)
    if locked.status not in (Vote.Status.DRAFT, Vote.Status.ROLL_PUBLISHED):
        raise VotingClosed("投票已开始，不能修改时间", "voting has started; the dates can no longer change")
    _check_dates(opens_at, closes_at)
    if locked.notice_ends_on and _local_date(opens_at) <= locked.notice_ends_on:
        earliest = locked.notice_ends_on + timedelta(days=1)
        raise VoteError(
            f"公告期至{locked.notice_ends_on}届满，投票最早于{earliest}开始",
            f"the notice period ends on {locked.notice_ends_on}; voting may open on {earliest} at the earliest",
            field="opens_at",
        )
    before = {"opens_at": locked.opens_at.isoformat(), "closes_at": locked.closes_at.isoformat()}
    locked.opens_at, locked.closes_at = opens_at, closes_at
    locked.save(update_fields=["opens_at", "closes_at"])
    audit.record(
        "voting.reschedule_vote",
        locked,
        actor=actor,
        changes=audit.diff(before, {"opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()}),
    )
    return _refresh(vote, locked)


@transaction.atomic
def publish_roll(vote: Vote, *, actor: User | None, now: datetime | None = None) -> Vote:
    """Publish the frozen roll; the notice period starts the day after publication."""
    require(actor, "voting.manage_vote", vote)
    now = _now(now)
    locked = _locked(vote)
    if locked.status != Vote.Status.DRAFT:
        raise VotingClosed("名册已公示", "the roll is already published")
    ends, earliest = notice_schedule(_local_date(now), locked.notice_days)
    if _local_date(locked.opens_at) < earliest:
        raise VoteError(
            f"公告期{locked.notice_days}日，至{ends}届满；投票最早于{earliest}开始，请先推迟开始时间",
            f"a {locked.notice_days}-day notice period ends on {ends}; voting may open on {earliest} at the earliest "
            "— move the opening time first",
            field="opens_at",
        )
    locked.status = Vote.Status.ROLL_PUBLISHED
    locked.roll_published_at, locked.notice_ends_on = now, ends
    locked.save(update_fields=["status", "roll_published_at", "notice_ends_on"])
    audit.record("voting.publish_roll", locked, actor=actor, changes={"notice_ends_on": ends.isoformat()})
    return _refresh(vote, locked)


@transaction.atomic
def open_vote(vote: Vote, *, actor: User | None, now: datetime | None = None) -> Vote:
    require(actor, "voting.manage_vote", vote)
    now = _now(now)
    locked = _locked(vote)
    if locked.status != Vote.Status.ROLL_PUBLISHED:
        raise VotingClosed("只有名册公示后的表决才能开始投票", "only a vote whose roll is published can open")
    if now < locked.opens_at or _local_date(now) <= locked.notice_ends_on:
        when = timezone.localtime(locked.opens_at).strftime("%Y-%m-%d %H:%M")
        raise VotingClosed(
            f"尚未到开始投票时间（{when}）或公告期未满",
            f"voting may not open before {when} or the end of the notice period",
        )
    if now >= locked.closes_at:
        raise VotingClosed("截止时间已过，请先修改时间", "the closing time has passed; reschedule first")
    locked.status, locked.opened_at = Vote.Status.OPEN, now
    locked.save(update_fields=["status", "opened_at"])
    audit.record("voting.open_vote", locked, actor=actor)
    return _refresh(vote, locked)


@transaction.atomic
def close_vote(vote: Vote, *, actor: User | None, now: datetime | None = None) -> Vote:
    """Close at or after the closing time and store the tally (the rule, the four ratios, the reasons)."""
    require(actor, "voting.manage_vote", vote)
    now = _now(now)
    locked = _locked(vote)
    if locked.status != Vote.Status.OPEN:
        raise VotingClosed("只有投票中的表决才能截止", "only an open vote can be closed")
    if now < locked.closes_at:
        when = timezone.localtime(locked.closes_at).strftime("%Y-%m-%d %H:%M")
        raise VotingClosed(
            f"尚未到截止时间（{when}），不能提前截止", f"voting runs until {when}; it cannot close early"
        )
    sealed = receipts.seal(locked.pk, held=True, now=now)  # a burst's last ballots, before anything is counted
    if sealed is not None:  # (the sealing lock came with `_locked`)
        locked.ballot_count, locked.participating_area = sealed.ballot_count, sealed.participating_area
        locked.log_length, locked.log_head = sealed.log_length, sealed.log_head
    outcome = tally_vote(locked)
    locked.status, locked.closed_at = Vote.Status.CLOSED, now
    locked.result, locked.passed = outcome_snapshot(locked, outcome), outcome.passed
    locked.save(update_fields=["status", "closed_at", "result", "passed"])
    audit.record(
        "voting.close_vote",
        locked,
        actor=actor,
        changes={"passed": outcome.passed, "rule": outcome.rule, "ballots": locked.ballot_count},
    )
    return _refresh(vote, locked)


def advance_due_votes(*, now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Open the votes whose opening time has come and close those whose closing time has passed: what a worker
    does by hand, done on time by the scheduler (`manage.py advance_votes`, every minute from cron).

    Returns (opened ids, closed ids). Each vote goes through `open_vote` / `close_vote` with the system as actor
    (audited as such), in its own transaction with the vote row locked, so the same checks apply as by hand and a
    second run — or two schedulers at once — changes nothing twice. A vote that may not open yet (its notice
    period is not over) or any more (its closing time passed before it opened: staff must reschedule) is left
    for staff; so is certifying a closed vote's result.
    """
    now = _now(now)
    opened: list[int] = []
    closed: list[int] = []
    due_open = Vote.objects.filter(status=Vote.Status.ROLL_PUBLISHED, opens_at__lte=now, closes_at__gt=now)
    for vote in due_open.order_by("opens_at", "pk"):
        try:
            open_vote(vote, actor=None, now=now)
        except VotingClosed:
            continue
        opened.append(vote.pk)
    for vote in Vote.objects.filter(status=Vote.Status.OPEN, closes_at__lte=now).order_by("closes_at", "pk"):
        try:
            close_vote(vote, actor=None, now=now)
        except VotingClosed:
            continue
        closed.append(vote.pk)
    receipts.seal_all(now=now)  # what the last ballots of a burst left pending in open votes
    return opened, closed


@transaction.atomic
def certify_result(vote: Vote, *, actor: User | None, now: datetime | None = None) -> Vote:
    """Certify after re-checking the ballot log and recounting; refuses if either disagrees."""
    require(actor, "voting.manage_vote", vote)
    now = _now(now)
    locked = _locked(vote)
    if locked.status != Vote.Status.CLOSED:
        raise VotingClosed("只有已截止的表决才能确认结果", "only a closed vote can be certified")
    problems = receipts.verify_ballot_log(locked)
    if problems:
        raise VoteError(
            f"选票日志校验未通过：{problems[0].reason_zh}",
            f"the ballot log fails verification: {problems[0].reason_en}",
            status=409,
            code="log_broken",
        )
    if outcome_snapshot(locked, tally_vote(locked)) != locked.result:
        raise VoteError(
            "重新计票结果与截止时不一致", "a recount differs from the stored result", status=409, code="recount_differs"
        )
    locked.status, locked.certified_at = Vote.Status.CERTIFIED, now
    locked.certified_by = actor if getattr(actor, "pk", None) else None
    locked.save(update_fields=["status", "certified_at", "certified_by"])
    audit.record("voting.certify_result", locked, actor=actor, changes={"passed": locked.passed})
    return _refresh(vote, locked)


# --------------------------------------------------------------------------------------------- ballots

WORKER_CHANNELS = frozenset({Ballot.Channel.PAPER, Ballot.Channel.PHONE, Ballot.Channel.DOOR, Ballot.Channel.PROXY})


@dataclass
class CastResult:
    ballot: Ballot
    entry: BallotLogEntry
    created: bool  # False when an idempotent retry returned the first result

    @property
    def receipt(self) -> str:
        return receipts.format_code(self.entry.receipt_code)


def _result_for(ballot: Ballot) -> CastResult:
    entry = BallotLogEntry.objects.get(vote_id=ballot.vote_id, roll_token=ballot.roll_entry.token)
    return CastResult(ballot, entry, created=False)


def _replay(vote: Vote, key: str, entry: VoterRollEntry, choice: str) -> CastResult | None:
    return _replay_of(first_with_key(Ballot.objects.select_related("roll_entry"), key, vote=vote), entry, choice)


def _replay_of(first: Ballot | None, entry: VoterRollEntry, choice: str) -> CastResult | None:
    """For `first`, the ballot made earlier with this key: its result again if it is this head's with this choice
    (a retry), 409 if the key was used for another ballot; None if there is no such ballot."""
    if first is None:
        return None
    if first.roll_entry_id != entry.pk or first.choice != choice:
        raise VoteError(
            "该幂等键已用于另一张选票",
            "this Idempotency-Key was already used for a different ballot",
            field="idempotency_key",
            status=409,
            code="idempotency_conflict",
        )
    return _result_for(first)


# The ballots that answer "a retry of this key, or has this head voted?" (at most one of each), with their roll
# entries: read on every ballot, so built once (core.rows.Read).
_EARLIER_OR_KEY = Read(
    Ballot, "t.vote_id = %s AND (t.roll_entry_id = %s OR t.idempotency_key = %s)", related=("roll_entry",), limit=2
)
_EARLIER = Read(Ballot, "t.vote_id = %s AND t.roll_entry_id = %s", related=("roll_entry",), limit=1)


@transaction.atomic
def attach_ballot_document(vote: Vote, *, actor: User | None, data: bytes, name: str) -> Upload:
    """Store a paper ballot's scan or a signed proxy authorisation, privately, in the vote's scope."""
    require(actor, "voting.enter_ballot", vote)
    upload = store_upload(data, name=name, kind=Upload.Kind.SCAN, user=actor, scope_path=vote.path)
    audit.record(
        "voting.attach_ballot_document", vote, actor=actor, changes={"upload": str(upload.key), "sha256": upload.sha256}
    )
    return upload


@transaction.atomic
def cast_ballot(
    vote: Vote,
    entry: VoterRollEntry,
    *,
    actor: User | None,
    choice: str,
    channel: str,
    idempotency_key: str = "",
    attachment: Upload | None = None,
    proxy_name: str = "",
    identity_confirmed: bool = False,
    now: datetime | None = None,
) -> CastResult:
    """Accept one head's ballot on any channel, append it to the ballot log and return the receipt.

    Online: the signed-in voter themself, after confirming identity with an SMS code (郑州市物业管理条例
    Art. 17). Other channels: a worker in scope enters it for the voter (recorded as on_behalf_of), with the
    paper ballot's scan or the signed proxy authorisation attached.
    """
    key = (idempotency_key or "").strip()
    if len(key) > 64:
        raise VoteError(
            "幂等键过长（最多64个字符）", "Idempotency-Key is too long (64 characters at most)", field="idempotency_key"
        )
    if choice not in Ballot.Choice.values:
        raise VoteError("请选择同意、不同意或弃权", "choice must be yes, no or abstain", field="choice")
    if channel not in Ballot.Channel.values:
        raise VoteError("投票渠道无效", "unknown channel", field="channel")
    if entry.vote_id != vote.pk:
        raise VoteError(
            "该业主不在本次表决名册中", "this owner is not on this vote's roll", field="roll_entry", status=404
        )
    if channel == Ballot.Channel.ONLINE:
        require(actor, "voting.cast_ballot", vote)
        if getattr(actor, "person_id", None) != entry.voter_id or entry.voter_id is None:
            raise VoteError(
                "只能为本人投票",
                "you can only cast your own ballot online",
                field="roll_entry",
                status=403,
                code="permission_denied",
            )
        if not identity_confirmed:
            raise VoteError(
                "请先用短信验证码确认身份",
                "confirm your identity with the SMS code first",
                field="code",
                status=403,
                code="identity",
            )
    else:
        require(actor, "voting.enter_ballot", vote)
    # One query for both questions asked before the insert: was this key used (a retry: answer it as the first
    # time), and has this head voted (refused below, once the ballot is known to be valid).
    found = _EARLIER_OR_KEY.all(vote.pk, entry.pk, key) if key else _EARLIER.all(vote.pk, entry.pk)
    replay = _replay_of(next((b for b in found if key and b.idempotency_key == key), None), entry, choice)
    if replay is not None:
        return replay
    existing = next((b for b in found if b.roll_entry_id == entry.pk), None)
    if channel == Ballot.Channel.PAPER and attachment is None:
        raise VoteError("纸质票须上传选票扫描件", "a paper ballot needs its scan attached", field="attachment")
    if channel == Ballot.Channel.PROXY:
        proxy_name = (proxy_name or "").strip()
        if not proxy_name:
            raise VoteError("请填写代理人姓名", "the proxy's name is required", field="proxy_name")
        if attachment is None:
            raise VoteError(
                "委托投票须上传签字的授权委托书",
                "a proxy ballot needs the signed authorisation attached",
                field="attachment",
            )
    if attachment is not None and not (attachment.scope_path or "").startswith(vote.path):
        raise VoteError("附件不属于本次表决", "the attachment does not belong to this vote", field="attachment")

    now = _now(now)
    if vote.status != Vote.Status.OPEN or not (vote.opens_at <= now < vote.closes_at):
        raise VotingClosed("当前不在投票时间内", "voting is not open now", field="vote")
    if existing is not None:
        raise AlreadyVoted(existing)

    ballot = Ballot(
        vote=vote,
        roll_entry=entry,
        choice=choice,
        channel=channel,
        cast_at=now,
        actor=actor if getattr(actor, "pk", None) else None,
        on_behalf_of_id=entry.voter_id,
        proxy_name=proxy_name if channel == Ballot.Channel.PROXY else "",
        attachment=attachment,
        idempotency_key=key,
        salt=receipts.new_salt(),
    )
    if not insert_unless_taken(ballot):  # losing the race on the constraint is an answer, not a crash
        replay = _replay(vote, key, entry, choice)
        if replay is not None:
            return replay
        existing = Ballot.objects.filter(vote=vote, roll_entry=entry).first()
        if existing is not None:
            raise AlreadyVoted(existing)
        raise IntegrityError("ballot refused by a unique constraint, and no earlier ballot found")

    changes = {
        "vote": vote.pk,
        "head": entry.number,
        "channel": channel,
        "proxy_name": audit.PERSONAL if ballot.proxy_name else "",
        "attachment": str(attachment.key) if attachment else None,
    }
    # No lock on the vote: its row is only share-locked (so that closing waits for this ballot, and a ballot that
    # arrives after the closing sees it), the leaf goes into the log unnumbered, and the sealer numbers it.
    may_seal = _hold_open(vote, now)
    audit.record(
        "voting.cast_ballot", ballot, actor=actor, on_behalf_of=entry.voter_id, channel=channel, changes=changes
    )
    log_entry = receipts.new_entry(vote, roll_token=entry.token, choice=choice, salt=ballot.salt, at=now)
    insert(log_entry)  # the leaf: append-only, no receivers (core.rows.insert)
    # Seal if no other ballot is sealing this vote (the lock was tried with the hold): else it gives way.
    sealed = receipts.seal(vote.pk, held=True, now=now) if may_seal else None
    if sealed is not None:
        vote.ballot_count, vote.participating_area = sealed.ballot_count, sealed.participating_area
        vote.log_length, vote.log_head = sealed.log_length, sealed.log_head
        log_entry.seq = sealed.numbers.get(log_entry.pk)
    return CastResult(ballot, log_entry, created=True)


_HOLD_OPEN = """
    SELECT status, opens_at, closes_at, pg_try_advisory_xact_lock(%s::integer, id::integer)
    FROM voting_vote WHERE id = %s FOR KEY SHARE
"""


def _hold_open(vote: Vote, now: datetime) -> bool:
    """Check, holding it, that the vote is still open. On PostgreSQL a KEY SHARE lock on the vote row: ballots do
    not conflict with each other or with the sealer's counter update, only with `_locked` (closing, rescheduling),
    which therefore waits for the ballots in flight, and a ballot that waited reads the new state. (The ballot's
    foreign key would take the same lock only at commit: Django's constraints are deferred.) SQLite serialises
    writers, so there the state read is current.

    In the same statement it tries the log's sealing lock (never waiting): True if this ballot may seal."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_HOLD_OPEN, [receipts.PG_LOCK_NAMESPACE, vote.pk])
            status, opens_at, closes_at, may_seal = cursor.fetchone()
    else:
        status, opens_at, closes_at = Vote.objects.values_list("status", "opens_at", "closes_at").get(pk=vote.pk)
        may_seal = True
    if status != Vote.Status.OPEN or not (opens_at <= now < closes_at):
        raise VotingClosed("投票已截止", "voting has closed", field="vote")
    return bool(may_seal)


def consent_fraction(vote: Vote) -> Fraction:
    return Fraction(vote.consent_numerator or 4, vote.consent_denominator or 5)
