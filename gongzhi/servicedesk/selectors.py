"""Reads for the pages: queues in the reader's scope, the rates' counts, the dashboard's groups. Each is a bounded
number of queries whatever the data size; long lists page by key (the id), not by counting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import BooleanField, Case, Count, F, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.models import Reader
from gongzhi.core.roles import roles_with
from gongzhi.core.rules import scope_paths, scope_q, scoped
from gongzhi.organizations.models import Membership
from gongzhi.registry.models import AreaLevel, AreaNode
from gongzhi.servicedesk import machine, ratings
from gongzhi.servicedesk.models import Category, FollowUpCall, ServiceRequest
from gongzhi.servicedesk.rates import Counts, Rate, rates

PAGE = 50
LIVE = [s.value for s in machine.LIVE]


def _base() -> QuerySet:
    return ServiceRequest.objects.select_related("category", "compound", "node")


def in_scope(user: Reader, capability: str) -> QuerySet:
    return scoped(_base(), user, roles_with(capability), field="path")


def visible(user: Reader) -> QuerySet:
    """The orders `user` may see (`servicedesk.view_request`): those in the scope of a staff or taker role, and
    the user's own (as requester or taker)."""
    staff, takers = scope_q(user, "staff", "path"), scope_q(user, "servicedesk.take", "path")
    if staff is None or takers is None:
        return _base()
    return _base().filter(staff | takers | Q(requester_user_id=user.pk) | Q(taker_id=user.pk))


def page(qs: QuerySet, after: int | None, size: int = PAGE) -> tuple[list, int | None]:
    """Rows newest first by id, after the cursor; the next cursor or None."""
    if after:
        qs = qs.filter(id__lt=after)
    rows = list(qs.order_by("-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].id if more and rows else None)


def dispatch_queue(
    user: Reader, status: str = "accepted", after: int | None = None
) -> tuple[list[ServiceRequest], int | None]:
    qs = in_scope(user, "servicedesk.dispatch")
    if status == "late":
        qs = qs.filter(status__in=LIVE, due_at__lt=timezone.now())
    elif status == "objections":
        qs = qs.filter(objection_pending=True)
    elif status in machine.State._value2member_map_:
        qs = qs.filter(status=status)
    return page(qs, after)


def near_me(user: Reader, after: int | None = None) -> tuple[list[ServiceRequest], int | None]:
    """Orders a taker may take in their scope: dispatched, open to takers, addressed to them or to an organisation
    they belong to (a 驻区单位's member, a volunteer team's volunteer)."""
    qs = in_scope(user, "servicedesk.take").filter(status=machine.State.DISPATCHED, objection_pending=False)
    mine = Q(assignee__isnull=True, assignee_org__isnull=True) | Q(assignee=user)
    if getattr(user, "person_id", None):
        orgs = Membership.objects.filter(person_id=user.person_id, until__isnull=True).values("organization_id")
        mine |= Q(assignee__isnull=True, assignee_org__in=orgs)
    return page(qs.filter(mine), after)


def my_orders(user: Reader, after: int | None = None) -> tuple[list[ServiceRequest], int | None]:
    """What a taker has taken and not finished."""
    qs = _base().filter(taker=user, status__in=[machine.State.TAKEN, machine.State.IN_PROGRESS])
    return page(qs, after)


def my_requests(user: Reader, after: int | None = None) -> tuple[list[ServiceRequest], int | None]:
    return page(_base().filter(requester_user=user), after)


def calls_due(
    user: Reader, after: int | None = None, today: date | None = None
) -> tuple[list[FollowUpCall], int | None]:
    today = today or timezone.localdate()
    qs = scoped(
        FollowUpCall.objects.select_related("request", "request__category", "request__compound", "request__node"),
        user,
        roles_with("servicedesk.intake"),
        field="path",
    ).filter(
        done_at__isnull=True,
        due_on__lte=today,
        request__status__in=[machine.State.COMPLETED, machine.State.RATED],  # archived or returned: not called
    )
    if after:
        qs = qs.filter(id__gt=after)
    rows = list(qs.order_by("id")[: PAGE + 1])
    return rows[:PAGE], (rows[PAGE - 1].id if len(rows) > PAGE else None)


# --- rates ----------------------------------------------------------------------------------------------------
def counts(qs: QuerySet) -> Counts:
    """The rates' numerators and denominators in one query (merged duplicates are not counted)."""
    agg = qs.exclude(status=machine.State.MERGED).aggregate(
        dispatched=Count("id", filter=Q(dispatched_at__isnull=False)),
        responded_in_time=Count(
            "id",
            filter=Q(
                dispatched_at__isnull=False,
                taken_at__lte=F("response_due_at"),
                contacted_at__lte=F("response_due_at"),
            ),
        ),
        followed_up=Count("id", filter=Q(followed_up_at__isnull=False, solved__isnull=False)),
        solved=Count("id", filter=Q(followed_up_at__isnull=False, solved=True)),
        rated=Count("id", filter=Q(rated_at__isnull=False)),
        satisfied=Count(
            "id",
            filter=Q(
                rated_at__isnull=False,
                satisfaction__in=[ServiceRequest.Satisfaction.SATISFIED, ServiceRequest.Satisfaction.BASIC],
            ),
        ),
        completed=Count("id", filter=Q(dispatched_at__isnull=False, completed_at__isnull=False)),
    )
    return Counts(**agg)


@dataclass
class Period:
    start: datetime
    end: datetime
    days: int


def period(days: int = 30, now: datetime | None = None) -> Period:
    now = now or timezone.now()
    return Period(now - timedelta(days=days), now, days)


def board(node: AreaNode, per: Period, after: int | None = None) -> tuple[list[Rate], list, int | None]:
    """The public board of a community or street: the rates over the period and its requests, newest first."""
    qs = _base().filter(path__startswith=node.path, accepted_at__gte=per.start, accepted_at__lte=per.end)
    rows, next_after = page(qs, after, size=30)
    return rates(counts(qs)), rows, next_after


# --- dashboard ------------------------------------------------------------------------------------------------
def _group(qs: QuerySet, field: str) -> list[dict]:
    now = timezone.now()
    return list(
        qs.exclude(status=machine.State.MERGED)
        .values(field)
        .annotate(
            total=Count("id"),
            open=Count("id", filter=Q(status__in=LIVE)),
            late=Count("id", filter=Q(status__in=LIVE, due_at__lt=now) | Q(completed_at__gt=F("due_at"))),
            completed=Count("id", filter=Q(completed_at__isnull=False)),
            rated=Count("id", filter=Q(rated_at__isnull=False)),
            satisfied=Count(
                "id",
                filter=Q(
                    rated_at__isnull=False,
                    satisfaction__in=[ServiceRequest.Satisfaction.SATISFIED, ServiceRequest.Satisfaction.BASIC],
                ),
            ),
        )
        .order_by("-late", "-total")
    )


def dashboard(user: Reader, per: Period) -> dict:
    """By category, by body (the kind of taker), by area (the community), and the late orders, latest due first."""
    qs = in_scope(user, "servicedesk.dispatch").filter(accepted_at__gte=per.start, accepted_at__lte=per.end)
    by_category = _group(qs, "category__name")
    by_body = _group(qs, "taker_kind")
    kinds = dict(ServiceRequest.TakerKind.choices)
    for row in by_body:
        row["label"] = kinds.get(row["taker_kind"]) or _("未接单")
    by_compound = _group(qs, "compound_id")
    by_area = _roll_up_to_communities(by_compound)
    late = list(
        in_scope(user, "servicedesk.dispatch")
        .filter(status__in=LIVE, due_at__lt=timezone.now())
        .order_by("due_at", "id")[:100]
    )
    overall = rates(counts(qs))
    top = max([r["total"] for r in by_category] + [1])
    return {
        "by_category": by_category,
        "by_body": by_body,
        "by_area": by_area,
        "late": late,
        "rates": overall,
        "top": top,
    }


def _roll_up_to_communities(rows: list[dict]) -> list[dict]:
    """Group rows keyed by compound into their communities (one query for the compounds and communities)."""
    ids = [r["compound_id"] for r in rows if r["compound_id"]]
    compounds = {c.pk: c for c in AreaNode.objects.filter(pk__in=ids).only("path")}
    ancestor_ids = {i for c in compounds.values() for i in c.ids_on_path}
    communities = {
        n.pk: n for n in AreaNode.objects.filter(pk__in=ancestor_ids, level__code="community").only("name", "path")
    }
    out: dict = {}
    for r in rows:
        c = compounds.get(r["compound_id"])
        community = next((communities[i] for i in (c.ids_on_path if c else []) if i in communities), None)
        key = community.name if community else "—"
        acc = out.setdefault(key, {"label": key, "total": 0, "open": 0, "late": 0, "completed": 0, "rated": 0,
                                   "satisfied": 0})  # fmt: skip
        for f in ("total", "open", "late", "completed", "rated", "satisfied"):
            acc[f] += r[f]
    return sorted(out.values(), key=lambda a: (-a["late"], -a["total"]))


# --- 满意率 from the residents' ratings ------------------------------------------------------------------------
def closed_in(qs: QuerySet, start: datetime, end: datetime) -> QuerySet:
    """Requests closed (办结) in [start, end): a request returned for rework counts when it is closed again."""
    return qs.exclude(status=machine.State.MERGED).filter(completed_at__gte=start, completed_at__lt=end)


# A rating counts for the closure it follows: one given before a return for rework is not this closure's.
RATED = Q(rated_at__isnull=False, rated_at__gte=F("completed_at"), satisfaction__in=list(ratings.SCALE))


def _rating_counts(q: Q, levels: list[str], prefix: str = "") -> dict:
    return {
        f"{prefix}closed": Count("id", filter=q),
        f"{prefix}rated": Count("id", filter=q & RATED),
        f"{prefix}satisfied": Count("id", filter=q & RATED & Q(satisfaction__in=levels)),
    }


def ratings_home(user: Reader, capability: str) -> AreaNode | None:
    """The widest area where `user` holds `capability` (the district for a superuser): the page's default."""
    paths = scope_paths(user, capability)
    if getattr(user, "is_superuser", False):
        return AreaNode.objects.select_related("level").order_by("depth", "path").first()
    return AreaNode.objects.select_related("level").filter(path__in=paths[:1]).first()


def ratings_breakdown_nodes(node: AreaNode, limit: int = 100) -> list[AreaNode]:
    """The areas one level down to show apart: streets, communities, compounds; none below a compound."""
    if node.level.is_compound:
        return []
    compound_depth = AreaLevel.objects.filter(is_compound=True).order_by("depth").values("depth")[:1]
    return list(
        AreaNode.objects.filter(parent=node, level__depth__lte=Subquery(compound_depth)).order_by("name", "id")[:limit]
    )


def rating_counts(
    node: AreaNode,
    start: datetime,
    end: datetime,
    *,
    levels: list[str],
    category: Category | None = None,
    children: list[AreaNode] | None = None,
) -> tuple[ratings.Counts, list[ratings.Counts], list[dict]]:
    """In two queries: the counts for `node` (the gate has checked the reader's scope there), for each of
    `children`, and by category (rows ordered by name)."""
    qs = closed_in(ServiceRequest.objects.filter(path__startswith=node.path), start, end)
    if category is not None:
        qs = qs.filter(category=category)
    aggs = _rating_counts(Q(), levels)
    children = children or []
    for i, child in enumerate(children):
        aggs |= _rating_counts(Q(path__startswith=child.path), levels, prefix=f"c{i}_")
    row = qs.aggregate(**aggs)
    overall = ratings.Counts(row["closed"], row["rated"], row["satisfied"])
    by_child = [
        ratings.Counts(row[f"c{i}_closed"], row[f"c{i}_rated"], row[f"c{i}_satisfied"]) for i in range(len(children))
    ]
    by_category = list(
        qs.values("category_id", "category__name", "category__name_en")
        .annotate(**_rating_counts(Q(), levels))
        .order_by("category__name", "category_id")
    )
    return overall, by_child, by_category


def rating_values(
    node: AreaNode, start: datetime, end: datetime, *, category: Category | None = None
) -> list[str | None]:
    """Each closed request's rating (None where it has none for this closure), oldest closure first: one query."""
    qs = closed_in(ServiceRequest.objects.filter(path__startswith=node.path), start, end)
    if category is not None:
        qs = qs.filter(category=category)
    rows = qs.annotate(counts=Case(When(RATED, then=Value(True)), default=Value(False), output_field=BooleanField()))
    return [
        s if counted else None
        for s, counted in rows.order_by("completed_at", "id").values_list("satisfaction", "counts")
    ]
