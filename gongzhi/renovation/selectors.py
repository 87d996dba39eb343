"""Reads of the renovation part: households and scopes of a project, demand tallies, bills, progress, timeline.

Every figure is computed with exact arithmetic from the rows (`arithmetic.py`, `shares.py`); bills use
`shares.compute_shares`, the same function as `python -m gongzhi.renovation.shares`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.models import Reader
from gongzhi.core.roles import roles_with
from gongzhi.core.rules import scope_q
from gongzhi.deliberation.models import StageEvent
from gongzhi.notices.models import Notice
from gongzhi.organizations.models import Membership
from gongzhi.registry.actions import resolve_unit_set
from gongzhi.registry.models import AreaNode, Ownership, Residence, Unit
from gongzhi.renovation import arithmetic
from gongzhi.renovation.models import (
    HOUSEHOLD_RULE_ZH,
    VOTE_RULE_ZH,
    CostBasis,
    Coverage,
    Defect,
    MenuCategory,
    MenuItem,
    Order,
    OwnersVote,
    PlanLine,
    ProgressEntry,
    Project,
    WorkItem,
)
from gongzhi.renovation.shares import Household, ShareRequest, compute_shares, fen_text
from gongzhi.surveys import selectors as survey_selectors
from gongzhi.surveys.models import Survey
from gongzhi.voting.models import Vote

# --- households and scopes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdRow:
    """One household (a residential unit) of a project, with the keys of the scopes it lies in."""

    unit_id: int
    label: str
    area: Decimal | None
    floor: int | None
    compound: tuple[str, str]  # (scope key, label)
    building: tuple[str, str]
    entrance: tuple[str, str]

    def scope(self, coverage: str) -> tuple[str, str]:
        if coverage == Coverage.UNIT:
            return f"unit:{self.unit_id}", self.label
        return getattr(self, coverage)


def households(project: Project) -> list[HouseholdRow]:
    """The project's households in roll order (building, number); one query, cached on the project object."""
    cached = getattr(project, "_gz_households", None)
    if cached is not None:
        return cached
    units = (
        resolve_unit_set(project.unit_set)
        .filter(usage=Unit.Usage.RESIDENTIAL)
        .select_related("compound", "node__level", "node__parent")
        .order_by("path", "number", "id")
    )
    rows = []
    for u in units:
        node = u.node
        if node.level.code == "entrance" and node.parent is not None:
            building, entrance = node.parent, node
            b_label = f"{u.compound.name}{building.name}"
            e_label = f"{b_label}{entrance.name}"
            entrance_key = (f"node:{entrance.pk}", e_label)
        else:
            building = node
            b_label = f"{u.compound.name}{building.name}"
            entrance_key = (f"node:{building.pk}", b_label)  # a building without entrances is its own entrance
        area, _source = u.voting_area()
        rows.append(
            HouseholdRow(
                unit_id=u.pk,
                label=f"{b_label}{'' if entrance_key[1] == b_label else node.name}{u.number}",
                area=area,
                floor=u.floor,
                compound=(f"node:{u.compound_id}", u.compound.name),
                building=(f"node:{building.pk}", b_label),
                entrance=entrance_key,
            )
        )
    project._gz_households = rows
    return rows


def units_of_person(person_id: int | None) -> set[int]:
    """Units a person lives in or owns now."""
    if not person_id:
        return set()
    return set(
        Residence.objects.filter(person_id=person_id, until__isnull=True).values_list("unit_id", flat=True)
    ) | set(Ownership.objects.filter(person_id=person_id, until__isnull=True).values_list("unit_id", flat=True))


def visible_projects(user: Reader) -> QuerySet[Project]:
    """Projects a reader may see: staff by scope; a household's projects; its contractor's and supervisor's.

    A queryset (one query to read); each row is still asked `renovation.view_project` by the gate.
    """
    if not getattr(user, "is_authenticated", False):
        return Project.objects.none()
    staff = scope_q(user, roles_with("staff"), "path")
    if staff is None:
        return Project.objects.all()
    q = staff
    person_id = getattr(user, "person_id", None)
    if person_id:
        orgs = Membership.objects.filter(person_id=person_id, until__isnull=True).values("organization_id")
        q |= Q(contractor_id__in=orgs) | Q(supervisor_id__in=orgs)
        paths = set(
            Residence.objects.filter(person_id=person_id, until__isnull=True).values_list("unit__path", flat=True)
        ) | set(Ownership.objects.filter(person_id=person_id, until__isnull=True).values_list("unit__path", flat=True))
        prefixes = set()
        for path in paths:
            parts = path.strip("/").split("/")
            prefixes |= {"/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))}
        if prefixes:
            q |= Q(path__in=prefixes)
    return Project.objects.filter(q)


def my_households(project: Project, user: Reader) -> list[HouseholdRow]:
    mine = units_of_person(getattr(user, "person_id", None))
    return [h for h in households(project) if h.unit_id in mine]


# --- cost and bills ------------------------------------------------------------------------------------------


def item_cost(item: MenuItem, members: list[HouseholdRow]) -> Decimal:
    """An item's cost for one scope, yuan, rounded half up to the fen."""
    if item.cost_basis == CostBasis.LUMP_SUM:
        return item.unit_cost
    if item.cost_basis == CostBasis.PER_HOUSEHOLD:
        return item.unit_cost * len(members)
    total_area = sum((h.area or Decimal(0) for h in members), Decimal(0))
    return arithmetic.round_fen(Fraction(item.unit_cost) * Fraction(total_area))


def residents_amount(item: MenuItem, cost: Decimal) -> Decimal:
    """The residents' part of a cost: cost × residents% rounded half up to the fen."""
    return arithmetic.round_fen(Fraction(cost) * Fraction(item.pct_residents) / 100)


def share_request(item: MenuItem, members: list[HouseholdRow], amount: Decimal) -> ShareRequest:
    """The input of `compute_shares` for one scope (a unit without an area counts with area 0)."""
    return ShareRequest(
        amount=amount,
        basis=item.share_basis,
        households=tuple(
            Household(id=str(h.unit_id), area=h.area if h.area is not None else Decimal(0), floor=h.floor)
            for h in members
        ),
        cap=item.household_cap,
        coefficients={int(k): Decimal(str(v)) for k, v in (item.floor_coefficients or {}).items()},
    )


def share_document(item: MenuItem, members: list[HouseholdRow], amount: Decimal) -> dict:
    """The same request as a JSON document for `python -m gongzhi.renovation.shares` (the published data file)."""
    req = share_request(item, members, amount)
    doc: dict[str, object] = {
        "amount": f"{req.amount:.2f}",
        "basis": req.basis,
        "cap": None if req.cap is None else f"{req.cap:.2f}",
        "households": [
            {"id": h.id, "area": format(h.area, "f"), **({"floor": h.floor} if h.floor is not None else {})}
            for h in req.households
        ],
    }
    if req.basis == "floor_area":
        doc["coefficients"] = {str(k): format(v, "f") for k, v in req.coefficients.items()}
    return doc


@dataclass
class BillLine:
    item: MenuItem
    scope_label: str
    cost: Decimal
    residents_amount: Decimal
    share: str  # two decimals, or "" when the share cannot be computed
    problem: str = ""


@dataclass
class Bill:
    unit_id: int
    label: str
    lines: list[BillLine]

    @property
    def total(self) -> str:
        fen = sum(int(Decimal(line.share) * 100) for line in self.lines if line.share)
        return fen_text(fen)


def menu_items(project: Project) -> list[MenuItem]:
    cached = getattr(project, "_gz_menu", None)
    if cached is None:
        cached = list(
            project.menu.filter(active=True)
            .select_related("category")
            .prefetch_related("depends_on")
            .order_by("category__order", "order", "id")
        )
        project._gz_menu = cached
    return cached


def scope_members(project: Project, item: MenuItem) -> dict[str, tuple[str, list[HouseholdRow]]]:
    """Scope key → (label, households) for one item's coverage."""
    groups: dict[str, tuple[str, list[HouseholdRow]]] = {}
    for h in households(project):
        key, label = h.scope(item.coverage)
        groups.setdefault(key, (label, []))[1].append(h)
    return groups


def bill(project: Project, unit_id: int, items: list[MenuItem] | None = None) -> Bill:
    """What one household would pay, item by item, if every item offered passed (shown before it agrees)."""
    rows = {h.unit_id: h for h in households(project)}
    me = rows[unit_id]
    lines = []
    for item in items if items is not None else menu_items(project):
        key, label = me.scope(item.coverage)
        members = [h for h in households(project) if h.scope(item.coverage)[0] == key]
        cost = item_cost(item, members)
        amount = residents_amount(item, cost)
        try:
            result = compute_shares(share_request(item, members, amount))
            share, problem = fen_text(result.shares_fen[str(unit_id)]), ""
        except ValueError as exc:  # SharesInputError: e.g. no floor in the coefficient table has an area
            share, problem = "", str(exc)
        lines.append(BillLine(item, label, cost, amount, share, problem))
    return Bill(unit_id, me.label, lines)


# --- demand tallies ------------------------------------------------------------------------------------------


@dataclass
class ScopeTally:
    item: MenuItem
    scope_key: str
    scope_label: str
    tally: arithmetic.ConsentTally
    ordered: int  # households that answered at all (for the door-to-door list)
    cost: Decimal
    residents_amount: Decimal
    vote: Vote | None = None  # for an Art. 278 item routed to the owners

    @property
    def decided_by_vote(self) -> bool:
        return self.item.consent == MenuItem.Consent.OWNERS_VOTE

    @property
    def passed(self) -> bool:
        if self.decided_by_vote:
            return bool(self.vote is not None and self.vote.status == "certified" and self.vote.passed)
        return self.tally.passed

    @property
    def rule(self) -> str:
        if self.decided_by_vote:
            return _("业主表决（民法典第二百七十八条）")
        return _("同意户数 %(rule)s") % {"rule": self.tally.rule}

    @property
    def rule_zh(self) -> str:
        """The rule as the adopted plan keeps it (PlanLine.rule, read back by PlanLine.rule_label)."""
        return VOTE_RULE_ZH if self.decided_by_vote else f"{HOUSEHOLD_RULE_ZH} {self.tally.rule}"

    @property
    def household_percent(self) -> str:
        return arithmetic.percent_text(self.tally.household_ratio)

    @property
    def household_bar(self) -> str:
        """The bar's length out of 100 (display only; the figure beside it is the exact one)."""
        ratio = self.tally.household_ratio
        return "0" if ratio is None else f"{min(float(ratio), 1.0) * 100:.1f}"

    @property
    def area_percent(self) -> str:
        return arithmetic.percent_text(self.tally.area_ratio)


def tallies(project: Project) -> list[ScopeTally]:
    """Every offered item × scope against its consent rule; three queries whatever the size of the project."""
    items = menu_items(project)
    agreeing: dict[tuple[int, int], bool] = {}
    for unit_id, item_id, agrees in Order.objects.filter(project=project).values_list("unit_id", "item_id", "agrees"):
        agreeing[(item_id, unit_id)] = agrees
    votes = {
        (ov.item_id, ov.scope_key): ov.vote for ov in OwnersVote.objects.filter(project=project).select_related("vote")
    }
    out = []
    for item in items:
        rule = arithmetic.ConsentRule(item.consent_numerator, item.consent_denominator, item.consent_inclusive)
        for key, (label, members) in scope_members(project, item).items():
            yes = [h for h in members if agreeing.get((item.pk, h.unit_id))]
            area = sum((h.area or Decimal(0) for h in members), Decimal(0))
            yes_area = sum((h.area or Decimal(0) for h in yes), Decimal(0))
            tally = arithmetic.consent_tally(
                rule, households=len(members), agreeing=len(yes), area=area, agreeing_area=yes_area
            )
            cost = item_cost(item, members)
            out.append(
                ScopeTally(
                    item=item,
                    scope_key=key,
                    scope_label=label,
                    tally=tally,
                    ordered=sum(1 for h in members if (item.pk, h.unit_id) in agreeing),
                    cost=cost,
                    residents_amount=residents_amount(item, cost),
                    vote=votes.get((item.pk, key)),
                )
            )
    return out


def not_reached(project: Project) -> list[HouseholdRow]:
    """The door-to-door list: households that have not answered on every item offered to them."""
    items = menu_items(project)
    answered: dict[int, int] = defaultdict(int)
    for unit_id, n in (
        Order.objects.filter(project=project).values("unit_id").annotate(n=Count("id")).values_list("unit_id", "n")
    ):
        answered[unit_id] = n
    return [h for h in households(project) if answered[h.unit_id] < len(items)]


def orders_of(project: Project, unit_id: int) -> dict[int, Order]:
    return {o.item_id: o for o in Order.objects.filter(project=project, unit_id=unit_id)}


# --- menu ----------------------------------------------------------------------------------------------------


def categories_for(district: AreaNode) -> list[MenuCategory]:
    return list(MenuCategory.objects.filter(Q(district__isnull=True) | Q(district=district)).order_by("order", "id"))


# --- progress ------------------------------------------------------------------------------------------------


def project_progress(project: Project, work_items: list[WorkItem] | None = None) -> Fraction:
    items = work_items if work_items is not None else list(project.work_items.all())
    return arithmetic.roll_up((w.budget, w.progress) for w in items)


def progress_photos(project: Project, per_item: int = 3) -> dict[int, list[ProgressEntry]]:
    """Work item id → its latest progress entries with a photo (newest first, at most `per_item`); one query."""
    out: dict[int, list[ProgressEntry]] = defaultdict(list)
    entries = (
        ProgressEntry.objects.filter(work_item__project=project, photo__isnull=False)
        .select_related("photo")
        .order_by("-on", "-id")[:500]
    )
    for e in entries:
        if len(out[e.work_item_id]) < per_item:
            out[e.work_item_id].append(e)
    return dict(out)


def open_defects(project: Project) -> QuerySet[Defect]:
    return project.defects.exclude(status=Defect.Status.CLOSED)


def plan_lines(project: Project) -> list[PlanLine]:
    return list(project.plan_lines.select_related("item__category"))


# --- timeline ------------------------------------------------------------------------------------------------


@dataclass(order=True)
class TimelineEntry:
    at: datetime
    kind: str = field(compare=False)
    title: str = field(compare=False)
    detail: str = field(default="", compare=False)
    detail_lang: str = field(default="", compare=False)  # "zh-Hans": a Chinese document's words, as published
    url: str = field(default="", compare=False)  # where to read more (the survey), when there is such a page


def _moment(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return timezone.make_aware(datetime.combine(value, datetime.min.time()))


def timeline(project: Project, *, staff: bool, today: date | None = None) -> list[TimelineEntry]:
    """One timeline of everything the project went through, oldest first (a bounded number of queries).

    Residents see milestones only from their publication date (CONSUL); staff see them all, marked.
    """
    today = today or timezone.localdate()
    out = [TimelineEntry(project.created_at, "project", _("项目立项"), project.name)]
    if project.matter_id:
        for ev in StageEvent.objects.filter(matter_id=project.matter_id).select_related("stage").order_by("at")[:100]:
            out.append(TimelineEntry(ev.at, "matter", _("一征三议两公开：%(s)s") % {"s": ev.stage.label}, ev.text))
        for vote in Vote.objects.filter(matter_ref=f"deliberation.matter:{project.matter_id}"):
            out.append(TimelineEntry(vote.created_at, "vote", _("表决：%(s)s") % {"s": vote.subject}))
            if vote.status == "certified":
                result = _("通过") if vote.passed else _("未通过")
                out.append(TimelineEntry(vote.certified_at or vote.created_at, "vote", f"{vote.subject}：{result}"))
        for notice in Notice.objects.filter(matter_id=project.matter_id, status="published"):
            out.append(TimelineEntry(_moment(notice.posted_on), "notice", _("公示"), notice.title, "zh-Hans"))
    day_counts = (
        Order.objects.filter(project=project)
        .values_list("updated_at__date")
        .annotate(n=Count("id"))
        .order_by("updated_at__date")
    )
    for day, n in day_counts:
        out.append(TimelineEntry(_moment(day), "orders", _("居民点单 %(n)s 项") % {"n": n}))
    for ov in OwnersVote.objects.filter(project=project).select_related("vote", "item"):
        vote = ov.vote
        out.append(TimelineEntry(vote.created_at, "vote", _("发起业主表决：%(s)s") % {"s": vote.subject}))
        if vote.status == "certified":
            result = _("通过") if vote.passed else _("未通过")
            out.append(TimelineEntry(vote.certified_at or vote.closed_at, "vote", f"{vote.subject}：{result}"))
    if project.plan_adopted_at:
        passed = project.plan_lines.filter(passed=True).count()
        out.append(TimelineEntry(project.plan_adopted_at, "plan", _("确定改造计划：%(n)s 项通过") % {"n": passed}))
    if project.works_started_at:
        out.append(TimelineEntry(project.works_started_at, "works", _("开工")))
    for m in project.milestones.all():
        if m.publication_date <= today or staff:
            hidden = "" if m.publication_date <= today else _("（%(d)s 公开）") % {"d": m.publication_date}
            out.append(TimelineEntry(_moment(m.on), "milestone", m.title + hidden, m.description))

    for e in ProgressEntry.objects.filter(work_item__project=project).select_related("work_item")[:200]:
        out.append(TimelineEntry(_moment(e.on), "progress", f"{e.work_item.name}：{e.progress}%", e.note))
    for i in project.inspections.all()[:100]:
        out.append(TimelineEntry(_moment(i.on), "inspection", i.get_kind_display(), i.summary))
    for d in project.defects.all()[:200]:
        out.append(TimelineEntry(d.registered_at, "defect", _("登记问题"), d.description))
        if d.resolved_at:
            out.append(TimelineEntry(d.resolved_at, "defect", _("施工单位整改"), d.description))
        if d.closed_at:
            out.append(TimelineEntry(d.closed_at, "defect", _("问题销项"), d.description))
    if project.accepted_at:
        out.append(TimelineEntry(project.accepted_at, "acceptance", _("竣工验收")))
    if project.accounts_notice_id:
        notice = project.accounts_notice
        out.append(TimelineEntry(_moment(notice.posted_on), "notice", _("结果公开：%(t)s") % {"t": notice.title}))
    out += survey_entries(project, staff=staff)
    return sorted(out)


def survey_entries(project: Project, *, staff: bool) -> list[TimelineEntry]:
    """The project's surveys (the satisfaction survey after the works) once opened: when it ran, and its 满意率
    once closed with its results published (staff: always, as the survey's own page shows them)."""
    out = []
    for s in Survey.objects.filter(project_ref=project.ref).exclude(status=Survey.Status.DRAFT).order_by("id")[:20]:
        where = reverse("surveys:detail", args=[s.pk]) if staff else ""
        if s.status == Survey.Status.OPEN:
            where = where or reverse("surveys:answer", args=[s.pk])
        period = f"{s.opens_on:%Y-%m-%d} — {s.closes_on:%Y-%m-%d}"
        out.append(TimelineEntry(s.opened_at or _moment(s.opens_on), "survey", _("问卷调查：%(t)s") % {"t": s.title},
                                 period, url=where))  # fmt: skip
        if s.status == Survey.Status.CLOSED:
            detail = ""
            if s.results_published or staff:
                report = survey_selectors.figures(s)
                detail = _("满意率 %(p)s（%(n)s/%(d)s）") % {
                    "p": report.satisfaction.percent,
                    "n": report.satisfaction.numerator,
                    "d": report.satisfaction.denominator,
                }
            out.append(TimelineEntry(s.closed_at or _moment(s.closes_on), "survey",
                                     _("问卷结束：%(t)s") % {"t": s.title}, detail, url=where))  # fmt: skip
    return out
