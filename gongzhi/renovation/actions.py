"""Every change of the renovation part: permission first, one transaction, an audit entry.

Views, the API, the admin, the Excel import and the demo call these; nothing else writes the models.
Row locks (`select_for_update(of=("self",))`) are taken on the project row first, then on the row changed,
so two writers never wait on each other in a cycle; SQLite's IMMEDIATE transactions serialise writers.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone, translation
from django.utils.translation import gettext_noop
from PIL import Image

from gongzhi.core import audit
from gongzhi.core.gate import require
from gongzhi.core.models import Upload, User
from gongzhi.core.uploads import UploadError, store_upload
from gongzhi.notices import actions as notice_actions
from gongzhi.notices.models import Notice
from gongzhi.organizations import actions as org_actions
from gongzhi.organizations.models import Organization, OrgKind
from gongzhi.registry import actions as registry_actions
from gongzhi.registry.models import AreaNode, Person, Unit, UnitSet
from gongzhi.renovation import selectors
from gongzhi.renovation.models import (
    FUNDING_PCT_FIELDS,
    AcceptanceSign,
    CostBasis,
    Coverage,
    Defect,
    Funding,
    Inspection,
    MenuCategory,
    MenuItem,
    Milestone,
    Order,
    OwnersVote,
    Plan,
    PlanLine,
    ProgressEntry,
    Project,
    ShareBasis,
    WorkItem,
)
from gongzhi.renovation.shares import SharesInputError, compute_shares
from gongzhi.voting import actions as voting_actions
from gongzhi.voting.tally import Matter

# Sent inside report_defect's transaction with defect=, actor= and on_behalf_of= when a resident (or someone for
# a resident) reports a defect: the service desk files it as a request of its renovation-defect category.
defect_reported = Signal()
# A defect's fix reported ("resolved"), accepted by the supervisor ("closed") or sent back ("fix_rejected"):
# sent with defect=, step=, actor= so a request filed for the defect can show it (the service desk listens).
defect_progressed = Signal()


class RenovationError(ValueError):
    """A refused renovation action: Chinese and English message, the field at fault, the HTTP status."""

    status = 400

    def __init__(self, zh: str, en: str, *, field: str | None = None, status: int | None = None):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en, self.field = zh, en, field
        if status:
            self.status = status

    def shown(self, language: str | None = None) -> str:
        return self.en if (language or "").startswith("en") else self.zh


def _money(value: object, field: str, zh: str, en: str, *, allow_none: bool = False) -> Decimal | None:
    if value in (None, "") and allow_none:
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise RenovationError(f"{zh}不是有效的金额", f"{en} is not an amount of money", field=field) from None
    if not amount.is_finite() or amount < 0:
        raise RenovationError(f"{zh}不能为负数", f"{en} cannot be negative", field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise RenovationError(f"{zh}最多两位小数", f"{en} has more than two decimals", field=field)
    if amount >= Decimal("1e12"):
        raise RenovationError(f"{zh}过大", f"{en} is too large", field=field)
    return amount.quantize(Decimal("0.01"))


def _text(value: str, field: str, zh: str, en: str, max_len: int, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise RenovationError(f"请填写{zh}", f"{en} is required", field=field)
    if len(value) > max_len:
        raise RenovationError(f"{zh}不能超过{max_len}字", f"{en} is longer than {max_len} characters", field=field)
    return value


PhotoIn = Upload | tuple[bytes, str] | None


def _photo(photo: PhotoIn, *, actor: User | None, path: str, field: str) -> Upload | None:
    """An uploaded photo stored inside the action's transaction (so a refused action leaves no file row)."""
    if photo is None or isinstance(photo, Upload):
        return photo

    data, name = photo
    try:
        return store_upload(
            data, name=name, kind=Upload.Kind.PHOTO, user=actor if getattr(actor, "pk", None) else None, scope_path=path
        )
    except UploadError as exc:
        raise RenovationError(exc.zh, exc.en, field=field) from None


def _locked_project(project: Project) -> Project:
    locked = Project.objects.select_for_update(of=("self",)).get(pk=project.pk)
    project.stage, project.plan_adopted_at = locked.stage, locked.plan_adopted_at
    return locked


def _stage(project: Project, *stages: str) -> None:
    if project.stage not in stages:
        raise RenovationError(
            f"项目当前阶段（{project.get_stage_display()}）不能进行此操作",
            f"not possible at the project's current stage ({project.stage})",
            status=409,
        )


# --- menu ------------------------------------------------------------------------------------------------------


@transaction.atomic
def create_category(
    *, actor: User | None, district: AreaNode, code: str, name: str, name_en: str, pace: str = ""
) -> MenuCategory:
    """A district's own category (the three national ones are seeded)."""
    require(actor, "renovation.manage_menu", district)
    code = _text(code, "code", "编码", "code", 50)
    name = _text(name, "name", "名称", "name", 30)
    if (
        MenuCategory.objects.filter(code=code, district__isnull=True).exists()
        or MenuCategory.objects.filter(code=code, district=district).exists()
    ):
        raise RenovationError("该类别编码已存在", "a category with this code exists", field="code")
    category = MenuCategory.objects.create(
        district=district, code=code, name=name, name_en=(name_en or "").strip()[:60], pace=pace[:60], order=100
    )
    audit.record("renovation.create_category", category, actor=actor, changes={"code": code, "name": name})
    return category


def _check_item(fields: dict) -> None:
    if fields["coverage"] not in Coverage.values:
        raise RenovationError("改造范围无效", "unknown coverage", field="coverage")
    if fields["cost_basis"] not in CostBasis.values:
        raise RenovationError("计价方式无效", "unknown cost basis", field="cost_basis")
    if fields["share_basis"] not in ShareBasis.values:
        raise RenovationError("分摊方式无效", "unknown share basis", field="share_basis")
    total = sum((fields[f] for f in FUNDING_PCT_FIELDS), Decimal(0))
    for f in FUNDING_PCT_FIELDS:
        if not (0 <= fields[f] <= 100):
            raise RenovationError("出资比例应在0至100之间", "a funding percentage lies between 0 and 100", field=f)
    if total != 100:
        raise RenovationError(
            f"各方出资比例合计应为100%，现为{total}%",
            f"the funding split must add up to 100%, not {total}%",
            field="pct_residents",
        )
    coefficients = fields.get("floor_coefficients") or {}
    if not isinstance(coefficients, dict):
        raise RenovationError(
            "楼层系数应为“楼层→系数”表", "floor coefficients must map floor to coefficient", field="floor_coefficients"
        )
    for k, v in coefficients.items():
        try:
            int(k)
            if Decimal(str(v)) < 0:
                raise ValueError
        except (ValueError, InvalidOperation):
            raise RenovationError(
                f"楼层系数 {k}: {v} 无效", f"floor coefficient {k}: {v} is invalid", field="floor_coefficients"
            ) from None
    if fields["share_basis"] == ShareBasis.FLOOR_AREA and not coefficients:
        raise RenovationError(
            "按楼层系数分摊须填写楼层系数", "floor_area shares need floor coefficients", field="floor_coefficients"
        )
    if fields["consent"] == MenuItem.Consent.OWNERS_VOTE:
        if fields.get("matter") not in {m.value for m in Matter}:
            raise RenovationError(
                "业主共同决定事项须选择《民法典》第二百七十八条的事项",
                "an owners' vote item must name its Art. 278 matter",
                field="matter",
            )
    elif fields["consent"] == MenuItem.Consent.THRESHOLD:
        num, den = fields["consent_numerator"], fields["consent_denominator"]
        if not (isinstance(num, int) and isinstance(den, int) and 0 < num <= den):
            raise RenovationError(
                "同意比例应在0到1之间（如4/5）",
                "the consent threshold is a fraction in (0, 1]",
                field="consent_numerator",
            )
    else:
        raise RenovationError("同意规则无效", "unknown consent rule", field="consent")


ITEM_DEFAULTS = {
    "description": "",
    "floor_coefficients": {},
    "pct_subsidy": Decimal(0),
    "pct_residents": Decimal(0),
    "pct_units": Decimal(0),
    "pct_fund": Decimal(0),
    "pct_public_income": Decimal(0),
    "household_cap": None,
    "consent": MenuItem.Consent.THRESHOLD,
    "consent_numerator": 4,
    "consent_denominator": 5,
    "consent_inclusive": True,
    "matter": "",
    "order": 0,
}


@transaction.atomic
def create_menu_item(
    *,
    actor: User | None,
    district: AreaNode,
    category: MenuCategory,
    code: str,
    name: str,
    coverage: str,
    unit_cost: Decimal | str,
    cost_basis: str,
    share_basis: str,
    depends_on: Iterable[MenuItem] = (),
    **fields: Any,
) -> MenuItem:
    require(actor, "renovation.manage_menu", district)
    if category.district_id not in (None, district.pk):
        raise RenovationError("该类别属于其他区", "this category belongs to another district", field="category")
    data = {**ITEM_DEFAULTS, **fields}
    for f in FUNDING_PCT_FIELDS:
        data[f] = Decimal(str(data[f]))
    data.update(coverage=coverage, cost_basis=cost_basis, share_basis=share_basis)
    data["unit_cost"] = _money(unit_cost, "unit_cost", "单价", "unit cost")
    data["household_cap"] = _money(data["household_cap"], "household_cap", "每户上限", "household cap", allow_none=True)
    _check_item(data)
    code = _text(code, "code", "编码", "code", 50)
    if MenuItem.objects.filter(district=district, code=code).exists():
        raise RenovationError("该菜单项编码已存在", "a menu item with this code exists", field="code")
    item = MenuItem.objects.create(
        district=district,
        path=district.path,
        category=category,
        code=code,
        name=_text(name, "name", "名称", "name", 100),
        **data,
    )
    deps = list(depends_on)
    for dep in deps:
        if dep.district_id != district.pk:
            raise RenovationError(
                "依赖项须属于同一区的菜单", "a dependency must be on the same district's menu", field="depends_on"
            )
    item.depends_on.set(deps)
    audit.record(
        "renovation.create_menu_item",
        item,
        actor=actor,
        changes={
            "code": code,
            "coverage": coverage,
            "unit_cost": str(item.unit_cost),
            "depends_on": [d.pk for d in deps],
        },
    )
    return item


# What a household saw before it agreed (its bill and the rule its answer counts under): fixed once anyone ordered.
AGREED_FIELDS = (
    "coverage",
    "unit_cost",
    "cost_basis",
    "share_basis",
    "floor_coefficients",
    *FUNDING_PCT_FIELDS,
    "household_cap",
    "consent",
    "consent_numerator",
    "consent_denominator",
    "consent_inclusive",
    "matter",
)


@transaction.atomic
def update_menu_item(
    item: MenuItem,
    *,
    actor: User | None,
    category: MenuCategory | None = None,
    depends_on: Iterable[MenuItem] | None = None,
    **fields: Any,
) -> MenuItem:
    """Change a menu item (its code stays). Refused once a project offering it has adopted its plan; once a
    household has ordered it, what that household saw before agreeing (cost, split, cap, consent rule,
    dependencies) stays, and only its name, description and category may change."""
    require(actor, "renovation.change_menu_item", item)
    locked = MenuItem.objects.select_for_update(of=("self",)).get(pk=item.pk)
    unknown = set(fields) - set(ITEM_DEFAULTS) - {"name", "coverage", "unit_cost", "cost_basis", "share_basis"}
    if unknown:
        raise RenovationError("不能修改这些字段", f"these fields cannot be changed: {sorted(unknown)}", field=None)
    data = {f: getattr(locked, f) for f in (*ITEM_DEFAULTS, "coverage", "unit_cost", "cost_basis", "share_basis")}
    data.update(fields)
    for f in FUNDING_PCT_FIELDS:
        data[f] = Decimal(str(data[f]))
    data["unit_cost"] = _money(data["unit_cost"], "unit_cost", "单价", "unit cost")
    data["household_cap"] = _money(data["household_cap"], "household_cap", "每户上限", "household cap", allow_none=True)
    _check_item(data)
    name = _text(fields.get("name", locked.name), "name", "名称", "name", 100)
    if category is not None and category.district_id not in (None, locked.district_id):
        raise RenovationError("该类别属于其他区", "this category belongs to another district", field="category")
    old_deps = set(locked.depends_on.values_list("pk", flat=True))
    deps = list(depends_on) if depends_on is not None else None
    if deps is not None:
        for dep in deps:
            if dep.district_id != locked.district_id or dep.pk == locked.pk:
                raise RenovationError(
                    "依赖项须为同一区菜单中的其他项",
                    "a dependency is another item of the same menu",
                    field="depends_on",
                )
    changed = {f: (getattr(locked, f), data[f]) for f in AGREED_FIELDS if getattr(locked, f) != data[f]}
    deps_changed = deps is not None and {d.pk for d in deps} != old_deps
    if (changed or deps_changed) and Order.objects.filter(item=locked).exists():
        field = next(iter(changed), "depends_on")
        raise RenovationError(
            "已有住户按原费用和规则点单，费用、分摊和同意规则不能再改（可新增一项替代）",
            "households have ordered this item as it stands: its cost, split and consent rule stay "
            "(add a new item instead)",
            field=field,
            status=409,
        )
    for f in (*AGREED_FIELDS, "description", "order"):
        setattr(locked, f, data[f])
    locked.name = name
    if category is not None:
        locked.category = category
    locked.save()
    if deps is not None:
        locked.depends_on.set(deps)
    audit.record(
        "renovation.update_menu_item",
        locked,
        actor=actor,
        changes={
            **{f: [str(a), str(b)] for f, (a, b) in changed.items()},
            **({"name": [item.name, name]} if name != item.name else {}),
            **({"category": [item.category_id, category.pk]} if category and category.pk != item.category_id else {}),
            **({"depends_on": [sorted(old_deps), sorted(d.pk for d in deps or ())]} if deps_changed else {}),
        },
    )
    item.refresh_from_db()
    return item


# --- projects --------------------------------------------------------------------------------------------------


def _district_of(node: AreaNode) -> AreaNode:
    return AreaNode.objects.get(pk=node.ids_on_path[0])


@transaction.atomic
def create_project(
    *,
    actor: User | None,
    name: str,
    unit_set: UnitSet,
    menu: Iterable[MenuItem] = (),
    budget: Decimal | str = "0",
    contractor: Organization | None = None,
    supervisor: Organization | None = None,
    matter: Matter | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Project:
    """A project over a unit set (a 片区, a 楼院, a building), with the menu items offered to its households."""
    scope = unit_set.scope
    require(actor, "renovation.add_project", scope)
    district = _district_of(scope)
    menu = list(menu)
    for item in menu:
        if item.district_id != district.pk:
            raise RenovationError("菜单项须属于本区的菜单", "menu items must be on this district's menu", field="menu")
    for org, field in ((contractor, "contractor"), (supervisor, "supervisor")):
        if org is not None and not scope.path.startswith(org.path) and not org.path.startswith(scope.path):
            raise RenovationError(
                "所选单位不在项目所在区域", "the organisation is outside the project's area", field=field
            )
    project = Project.objects.create(
        name=_text(name, "name", "项目名称", "name", 150),
        unit_set=unit_set,
        scope=scope,
        path=scope.path,
        district=district,
        budget=_money(budget, "budget", "总预算", "budget"),
        contractor=contractor,
        supervisor=supervisor,
        matter=matter,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    project.menu.set(menu)
    audit.record(
        "renovation.create_project",
        project,
        actor=actor,
        changes={
            "name": project.name,
            "unit_set": unit_set.pk,
            "menu": [m.pk for m in menu],
            "budget": str(project.budget),
        },
    )
    return project


@transaction.atomic
def add_funding(project: Project, *, actor: User | None, source: str, amount: Decimal | str, note: str = "") -> Funding:
    require(actor, "renovation.change_project", project)
    if source not in Funding.Source.values:
        raise RenovationError("资金来源无效", "unknown funding source", field="source")
    funding = Funding.objects.create(
        project=project, source=source, amount=_money(amount, "amount", "金额", "amount"), note=note[:200]
    )
    audit.record(
        "renovation.add_funding", project, actor=actor, changes={"source": source, "amount": str(funding.amount)}
    )
    return funding


@transaction.atomic
def found_party_branch(
    project: Project,
    *,
    actor: User | None,
    name: str,
    members: Iterable[tuple[Person, str, bool]] = (),
    parent: Organization | None = None,
) -> Organization:
    """临时党支部 on the project, in the organisations registry, with members from the street office, the
    compound's party members and the contractor: (person, membership role, is party member)."""
    require(actor, "renovation.change_project", project)
    if project.party_branch_id:
        raise RenovationError("本项目已成立临时党支部", "this project has a temporary party branch", field="name")
    branch = org_actions.create_organization(
        actor=actor,
        kind=OrgKind.objects.get(code="temporary_party_branch"),
        node=project.scope,
        name=name,
        parent=parent,
        project_ref=project.ref,
        founded=timezone.localdate(),
    )
    for person, role, party in members:
        org_actions.add_member(branch, actor=actor, person=person, role=role, is_party_member=party)
    Project.objects.filter(pk=project.pk).update(party_branch=branch)
    project.party_branch = branch
    audit.record("renovation.found_party_branch", project, actor=actor, changes={"organization": branch.pk})
    return branch


# --- orders (点单) -----------------------------------------------------------------------------------------------


@transaction.atomic
def place_order(
    project: Project,
    *,
    actor: User | None,
    unit: Unit,
    item: MenuItem,
    agrees: bool,
    willing_to_pay: bool = False,
    channel: str = Order.Channel.ONLINE,
    on_behalf_of: Person | None = None,
    seen_share: Decimal | None = None,
) -> Order:
    """A household's answer on one item (again: the answer is replaced). Online for one's own household; door
    to door or by hotline on the household's behalf, recorded as such.

    `seen_share` is the share the household was shown before it agreed: the item's row is locked (after the
    project's, the order every writer of both keeps) and the share recomputed; if the item changed since the
    household looked, the order is refused (409) rather than recorded against a figure it never saw."""
    if on_behalf_of is None and channel == Order.Channel.ONLINE:
        require(actor, "renovation.order", project)
        if actor is not None and unit.pk not in selectors.units_of_person(actor.person_id):
            raise PermissionDenied("renovation.order: not the actor's household")
    else:
        require(actor, "renovation.take_order", project)
        if channel not in (Order.Channel.DOOR, Order.Channel.HOTLINE):
            raise RenovationError(
                "代为点单请选择入户或热线", "an order on someone's behalf is door-to-door or hotline", field="channel"
            )
        if on_behalf_of is None:
            raise RenovationError("请选择代为点单的居民", "choose the resident you order for", field="on_behalf_of")
        if unit.pk not in selectors.units_of_person(on_behalf_of.pk):
            raise RenovationError(
                "该居民不住在或不拥有此房屋", "this resident neither lives in nor owns this unit", field="on_behalf_of"
            )
    locked = _locked_project(project)
    _stage(locked, Project.Stage.ORDERING)
    if locked.plan_adopted_at is not None:
        raise RenovationError("改造计划已确定，点单已结束", "the plan is adopted; ordering has ended", status=409)
    if not project.menu.filter(pk=item.pk).exists():
        raise RenovationError("本项目的菜单中没有此项", "this item is not on the project's menu", field="item")
    if unit.pk not in {h.unit_id for h in selectors.households(project)}:
        raise RenovationError("此房屋不在项目范围内", "this unit is outside the project", field="unit")
    # Second lock, after the project's: the item, so a change to it (update_menu_item) and this order are one
    # after the other, and the share the household saw is still the share.
    item = MenuItem.objects.select_for_update(of=("self",)).get(pk=item.pk)
    if seen_share is not None:
        share = selectors.bill(project, unit.pk, [item]).lines[0].share
        if (Decimal(share) if share else None) != seen_share:
            raise RenovationError(
                "此项的费用刚刚有变化，请重新核对您要分摊的金额",
                "this item's cost has just changed: check your share again",
                field="seen_share",
                status=409,
            )
    if agrees:
        missing = [d.name for d in item.depends_on.all() if not project.menu.filter(pk=d.pk).exists()]
        if missing:
            raise RenovationError(
                f"此项须与“{'、'.join(missing)}”一并实施，但本项目菜单中没有",
                f"this item needs {', '.join(missing)}, which is not on the project's menu",
                field="item",
            )
    defaults = {
        "agrees": bool(agrees),
        "willing_to_pay": bool(willing_to_pay and agrees),
        "seen_share": seen_share,
        "channel": channel,
        "entered_by": actor if getattr(actor, "pk", None) else None,
        "on_behalf_of": on_behalf_of,
        "updated_at": timezone.now(),
    }
    order, created = Order.objects.update_or_create(project=project, unit=unit, item=item, defaults=defaults)
    audit.record(
        "renovation.place_order",
        order,
        actor=actor,
        on_behalf_of=on_behalf_of,
        channel=channel,
        changes={
            "unit": unit.pk,
            "item": item.pk,
            "agrees": order.agrees,
            "willing_to_pay": order.willing_to_pay,
            "seen_share": None if seen_share is None else str(seen_share),
            "created": created,
        },
    )
    return order


@transaction.atomic
def route_to_owners_vote(
    project: Project, *, actor: User | None, item: MenuItem, scope_key: str, opens_at: datetime, closes_at: datetime
) -> OwnersVote:
    """Call the owners' vote an Art. 278 item needs, with the right electorate: the owners of the item's scope
    (that entrance for a lift; the charging scope for the maintenance fund)."""
    require(actor, "renovation.route_vote", project)
    locked = _locked_project(project)
    _stage(locked, Project.Stage.ORDERING)
    if item.consent != MenuItem.Consent.OWNERS_VOTE:
        raise RenovationError(
            "此项按同意比例决定，无需业主表决", "this item is decided by a threshold, not a vote", field="item"
        )
    groups = selectors.scope_members(project, item)
    if scope_key not in groups:
        raise RenovationError("范围不属于本项目", "this scope is not in the project", field="scope_key")
    if OwnersVote.objects.filter(project=project, item=item, scope_key=scope_key).exists():
        raise RenovationError(
            "此范围已发起业主表决", "a vote was called for this scope already", field="scope_key", status=409
        )
    label, members = groups[scope_key]
    unit_ids = [h.unit_id for h in members]
    units = list(Unit.objects.filter(pk__in=unit_ids))
    kind = {
        Coverage.ENTRANCE: UnitSet.Kind.ENTRANCE,
        Coverage.BUILDING: UnitSet.Kind.BUILDING,
        Coverage.COMPOUND: UnitSet.Kind.COMPOUND,
    }.get(item.coverage, UnitSet.Kind.CUSTOM)
    electorate = registry_actions.create_unit_set(
        actor=actor,
        name=f"{label}·{item.name}"[:100],
        kind=kind,
        scope=project.scope,
        units=units,
        description=f"{project.ref} item {item.code}",
    )
    vote = voting_actions.call_vote(
        actor=actor,
        subject=f"{label}{item.name}"[:200],
        description=item.description,
        matter=item.matter,
        unit_set=electorate,
        opens_at=opens_at,
        closes_at=closes_at,
        matter_ref=f"{project.ref}:item:{item.pk}:{scope_key}"[:100],
    )
    routed = OwnersVote.objects.create(project=project, item=item, scope_key=scope_key, vote=vote)
    audit.record(
        "renovation.route_to_owners_vote",
        project,
        actor=actor,
        changes={"item": item.pk, "scope": scope_key, "vote": vote.pk},
    )
    return routed


@transaction.atomic
def adopt_plan(project: Project, *, actor: User | None) -> list[PlanLine]:
    """Tally every item × scope against its rule and keep them all: the passing ones form the plan, the others
    stay visible with their figures. Ends ordering."""
    require(actor, "renovation.adopt_plan", project)
    locked = _locked_project(project)
    _stage(locked, Project.Stage.ORDERING)
    if locked.plan_adopted_at is not None:
        raise RenovationError("改造计划已确定", "the plan is adopted already", status=409)
    lines = []
    for t in selectors.tallies(project):
        lines.append(
            PlanLine(
                project=project,
                item=t.item,
                scope_key=t.scope_key,
                scope_label=t.scope_label[:150],
                passed=t.passed,
                households=t.tally.households,
                agreeing=t.tally.agreeing,
                area=t.tally.area,
                agreeing_area=t.tally.agreeing_area,
                rule=t.rule_zh[:200],
                cost=t.cost,
                residents_amount=t.residents_amount,
                vote_id=t.vote.pk if t.vote is not None else None,
            )
        )
    PlanLine.objects.bulk_create(lines)
    now = timezone.now()
    Project.objects.filter(pk=project.pk).update(plan_adopted_at=now)
    project.plan_adopted_at = now
    audit.record(
        "renovation.adopt_plan",
        project,
        actor=actor,
        changes={
            "passed": [f"{ln.item_id}@{ln.scope_key}" for ln in lines if ln.passed],
            "failed": [f"{ln.item_id}@{ln.scope_key}" for ln in lines if not ln.passed],
        },
    )
    return lines


@transaction.atomic
def start_works(project: Project, *, actor: User | None) -> Project:
    require(actor, "renovation.change_project", project)
    locked = _locked_project(project)
    _stage(locked, Project.Stage.ORDERING)
    if locked.plan_adopted_at is None:
        raise RenovationError("请先确定改造计划", "adopt the plan first", status=409)
    if project.contractor_id is None:
        raise RenovationError("请先确定施工单位", "choose the contractor first", field="contractor")
    now = timezone.now()
    Project.objects.filter(pk=project.pk).update(stage=Project.Stage.WORKS, works_started_at=now)
    project.stage, project.works_started_at = Project.Stage.WORKS, now
    audit.record("renovation.start_works", project, actor=actor, changes={"stage": "works"})
    return project


@transaction.atomic
def set_parties(
    project: Project, *, actor: User | None, contractor: Organization | None, supervisor: Organization | None
) -> Project:
    require(actor, "renovation.change_project", project)
    for org, field, code in ((contractor, "contractor", "contractor"), (supervisor, "supervisor", None)):
        if org is not None and code and org.kind.code != code:
            raise RenovationError("所选组织不是施工单位", "the organisation chosen is not a contractor", field=field)
    Project.objects.filter(pk=project.pk).update(contractor=contractor, supervisor=supervisor)
    project.contractor, project.supervisor = contractor, supervisor
    audit.record(
        "renovation.set_parties",
        project,
        actor=actor,
        changes={"contractor": getattr(contractor, "pk", None), "supervisor": getattr(supervisor, "pk", None)},
    )
    return project


# --- works -----------------------------------------------------------------------------------------------------


@transaction.atomic
def add_work_item(
    project: Project,
    *,
    actor: User | None,
    external_id: str,
    name: str,
    budget: Decimal | str,
    item: MenuItem | None = None,
    location: AreaNode | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> WorkItem:
    require(actor, "renovation.change_project", project)
    external_id = _text(external_id, "external_id", "外部编号", "external id", 50)
    if location is not None and not location.path.startswith(project.path):
        raise RenovationError("位置不在项目范围内", "the location is outside the project", field="location")
    try:
        with transaction.atomic():
            work = WorkItem.objects.create(
                project=project,
                external_id=external_id,
                name=_text(name, "name", "名称", "name", 150),
                budget=_money(budget, "budget", "预算", "budget"),
                item=item,
                location=location,
                starts_on=starts_on,
                ends_on=ends_on,
            )
    except IntegrityError:
        raise RenovationError(
            "外部编号已被本项目使用", "this external id is used in the project", field="external_id"
        ) from None
    audit.record(
        "renovation.add_work_item", work, actor=actor, changes={"external_id": external_id, "budget": str(work.budget)}
    )
    return work


def _progress_value(value: object, field: str = "progress") -> int:
    try:
        number = Decimal(str(value).strip().rstrip("%"))
    except (InvalidOperation, ValueError):
        raise RenovationError("进度应为0到100的整数", "progress is a whole number from 0 to 100", field=field) from None
    if not number.is_finite() or number != number.to_integral_value() or not (0 <= number <= 100):
        raise RenovationError("进度应为0到100的整数", "progress is a whole number from 0 to 100", field=field)
    return int(number)


@transaction.atomic
def report_progress(
    work_item: WorkItem,
    *,
    actor: User | None,
    progress: int | str,
    on: date | None = None,
    note: str = "",
    photo: PhotoIn = None,
    document: Upload | None = None,
) -> ProgressEntry:
    """A dated progress entry; the work item's progress becomes the entry's (the contractor only on its own)."""
    require(actor, "renovation.report_progress", work_item.project)
    value = _progress_value(progress)
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise RenovationError("日期不能晚于今天", "the date cannot be in the future", field="on")
    locked = WorkItem.objects.select_for_update(of=("self",)).get(pk=work_item.pk)
    photo = _photo(photo, actor=actor, path=work_item.project.path, field="photo")
    entry = ProgressEntry.objects.create(
        work_item=locked,
        on=on,
        progress=value,
        note=_text(note, "note", "说明", "note", 300, required=False),
        photo=photo,
        document=document,
        entered_by=actor if getattr(actor, "pk", None) else None,
    )
    WorkItem.objects.filter(pk=locked.pk).update(progress=value)
    work_item.progress = value
    audit.record(
        "renovation.report_progress",
        work_item,
        actor=actor,
        changes={"from": locked.progress, "to": value, "entry": entry.pk},
    )
    return entry


@dataclass
class ImportRow:
    line: int
    external_id: str
    progress: int | None
    note: str
    errors: list[str]


@dataclass
class ImportReport:
    rows: list[ImportRow]
    applied: bool

    @property
    def ok(self) -> bool:
        return all(not r.errors for r in self.rows) and bool(self.rows)


@transaction.atomic
def import_progress(project: Project, *, actor: User | None, rows: list[dict], dry_run: bool = True) -> ImportReport:
    """Bulk progress in the export's columns, keyed by external id: every bad row named, all or nothing."""
    require(actor, "renovation.report_progress", project)
    by_id = {w.external_id: w for w in project.work_items.all()}
    checked: list[ImportRow] = []
    seen: set[str] = set()
    for index, raw in enumerate(rows, start=2):  # line 1 is the header
        ext = str(raw.get("external_id") or "").strip()
        errors = []
        value = None
        if not ext:
            errors.append("缺少外部编号 / external id missing")
        elif ext not in by_id:
            errors.append(f"本项目没有外部编号 {ext} / no work item {ext} in this project")
        elif ext in seen:
            errors.append(f"外部编号 {ext} 重复 / external id {ext} repeated")
        seen.add(ext)
        try:
            value = _progress_value(raw.get("progress"))
        except RenovationError as exc:
            errors.append(f"{exc.zh} / {exc.en}")
        note = str(raw.get("note") or "").strip()
        if len(note) > 300:
            errors.append("说明超过300字 / note longer than 300 characters")
        checked.append(ImportRow(index, ext, value, note, errors))
    report = ImportReport(checked, applied=False)
    if dry_run or not report.ok:
        return report
    for row in checked:
        work = by_id[row.external_id]
        if row.progress != work.progress or row.note:
            report_progress(work, actor=actor, progress=row.progress, note=row.note)
    report.applied = True
    audit.record("renovation.import_progress", project, actor=actor, changes={"rows": len(checked)})
    return report


@transaction.atomic
def add_milestone(
    project: Project,
    *,
    actor: User | None,
    title: str,
    on: date,
    publication_date: date | None = None,
    description: str = "",
) -> Milestone:
    require(actor, "renovation.change_project", project)
    milestone = Milestone.objects.create(
        project=project,
        title=_text(title, "title", "标题", "title", 150),
        description=_text(description, "description", "说明", "description", 2000, required=False),
        on=on,
        publication_date=publication_date or on,
    )
    audit.record("renovation.add_milestone", milestone, actor=actor, changes={"title": milestone.title, "on": on})
    return milestone


# --- inspections and defects -----------------------------------------------------------------------------------


@transaction.atomic
def record_inspection(
    project: Project,
    *,
    actor: User | None,
    kind: str,
    checklist: list[dict],
    on: date | None = None,
    summary: str = "",
    photo: PhotoIn = None,
) -> Inspection:
    require(actor, "renovation.inspect", project)
    if kind not in Inspection.Kind.values:
        raise RenovationError("检查类型无效", "unknown inspection kind", field="kind")
    clean = []
    for row in checklist:
        text = str(row.get("item") or "").strip()
        if not text:
            raise RenovationError("检查项不能为空", "a checklist line needs its item", field="checklist")
        clean.append({"item": text[:200], "ok": bool(row.get("ok")), "note": str(row.get("note") or "")[:300]})
    if not clean:
        raise RenovationError("请填写检查项", "the checklist is empty", field="checklist")
    photo = _photo(photo, actor=actor, path=project.path, field="photo")
    inspection = Inspection.objects.create(
        project=project,
        kind=kind,
        on=on or timezone.localdate(),
        checklist=clean,
        summary=_text(summary, "summary", "结论", "summary", 300, required=False),
        photo=photo,
        inspector=actor if getattr(actor, "pk", None) else None,
    )
    audit.record("renovation.record_inspection", inspection, actor=actor, changes={"kind": kind, "lines": len(clean)})
    return inspection


# --- plans (平面图) on which defects are placed --------------------------------------------------------------------


def _floor(floor: int | None) -> None:
    if floor is not None and not (isinstance(floor, int) and -5 <= floor <= 99):
        raise RenovationError("楼层应为-5到99之间的整数", "the floor is a whole number from -5 to 99", field="floor")


def _plan_image_format(data: bytes) -> str:
    """PNG or JPEG, read from the content before anything is stored (a plan is a picture, not a PDF or a WebP)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    raise RenovationError("平面图只接受 PNG 或 JPEG 图片", "a plan must be a PNG or JPEG image", field="image")


@transaction.atomic
def upload_plan(
    project: Project,
    *,
    actor: User | None,
    title: str,
    image: tuple[bytes, str],
    building: AreaNode | None = None,
    floor: int | None = None,
) -> Plan:
    """A floor or site plan of the project: checked, re-encoded without metadata and stored privately, with its
    pixel size (a click on it, in its own pixels, becomes a position in percent)."""
    require(actor, "renovation.upload_plan", project)
    title = _text(title, "title", "标题", "title", 100)
    if building is not None and not building.path.startswith(project.path):
        raise RenovationError("楼栋不在项目范围内", "the building is outside the project", field="building")
    _floor(floor)
    data, name = image
    _plan_image_format(data)
    locked = _locked_project(project)
    _stage(locked, Project.Stage.ORDERING, Project.Stage.WORKS)
    # Everything is checked before the file is written: a refused plan leaves no file and no row.
    upload = _photo((data, name), actor=actor, path=project.path, field="image")
    assert upload is not None
    with upload.file.open("rb") as fh, Image.open(fh) as img:
        width, height = img.size
    plan = Plan.objects.create(
        project=project,
        title=title,
        building=building,
        floor=floor,
        image=upload,
        width=width,
        height=height,
        uploaded_by=actor if getattr(actor, "pk", None) else None,
    )
    audit.record(
        "renovation.upload_plan",
        plan,
        actor=actor,
        changes={
            "title": title,
            "building": getattr(building, "pk", None),
            "floor": floor,
            "image": str(upload.key),
            "size": [width, height],
        },
    )
    return plan


def _plan_position(plan_xy: Sequence[object] | None) -> tuple[Decimal | None, Decimal | None]:
    """(x, y) in percent of the plan's width and height from its left and top edges, both or neither."""
    if not plan_xy or all(v in (None, "") for v in plan_xy):
        return None, None
    out = []
    for value, field in zip(plan_xy, ("plan_x", "plan_y"), strict=True):
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            number = Decimal("NaN")
        if not number.is_finite() or not (0 <= number <= 100):
            raise RenovationError(
                "平面图位置应为0到100之间的百分比", "the plan position is a percentage from 0 to 100", field=field
            )
        out.append(number.quantize(Decimal("0.01")))
    return out[0], out[1]


@transaction.atomic
def report_defect(
    project: Project,
    *,
    actor: User | None,
    source: str,
    description: str,
    deadline: date,
    on_behalf_of: Person | None = None,
    work_item: WorkItem | None = None,
    location: AreaNode | None = None,
    spot: str = "",
    floor: int | None = None,
    plan: Plan | None = None,
    plan_xy: tuple[Decimal, Decimal] | None = None,
    photo_before: PhotoIn = None,
) -> Defect:
    """A defect from an inspector, the supervision group or a resident (or entered for one); `plan_xy` is the
    spot in percent of `plan` (a project that has plans places a spot on one of them)."""
    require(actor, "renovation.report_defect", project)
    if on_behalf_of is not None:
        require(actor, "renovation.report_defect_for", project)
        if source != Defect.Source.RESIDENT:
            raise RenovationError(
                "代为报告的问题来源应为居民",
                "a defect entered for a resident has the resident as source",
                field="source",
            )
    if source not in Defect.Source.values:
        raise RenovationError("问题来源无效", "unknown source", field="source")
    if deadline < timezone.localdate():
        raise RenovationError("整改期限不能早于今天", "the deadline cannot be in the past", field="deadline")
    if location is not None and not location.path.startswith(project.path):
        raise RenovationError("位置不在项目范围内", "the location is outside the project", field="location")
    if work_item is not None and work_item.project_id != project.pk:
        raise RenovationError("施工内容不属于本项目", "the work item is not in this project", field="work_item")
    _floor(floor)
    x, y = _plan_position(plan_xy)
    if plan is not None and plan.project_id != project.pk:
        raise RenovationError("平面图不属于本项目", "the plan is not one of this project's", field="plan")
    if plan is not None and x is None:
        raise RenovationError("请在平面图上点出问题的位置", "mark the spot on the plan", field="plan")
    if plan is None and x is not None and project.plans.exists():
        raise RenovationError("请选择位置所在的平面图", "choose the plan the position is on", field="plan")
    locked = _locked_project(project)
    _stage(locked, Project.Stage.WORKS)
    photo_before = _photo(photo_before, actor=actor, path=project.path, field="photo_before")
    defect = Defect.objects.create(
        project=project,
        work_item=work_item,
        source=source,
        description=_text(description, "description", "问题描述", "description", 500),
        location=location,
        spot=_text(spot, "spot", "具体位置", "spot", 150, required=False),
        floor=floor,
        plan=plan,
        plan_x=x,
        plan_y=y,
        photo_before=photo_before,
        deadline=deadline,
        reported_by=actor if getattr(actor, "pk", None) else None,
        reporter=on_behalf_of or (getattr(actor, "person", None) if source == Defect.Source.RESIDENT else None),
    )
    audit.record(
        "renovation.report_defect",
        defect,
        actor=actor,
        on_behalf_of=on_behalf_of,
        changes={
            "source": source,
            "deadline": deadline,
            "work_item": getattr(work_item, "pk", None),
            "floor": floor,
            "plan": getattr(plan, "pk", None),
            "plan_xy": [str(x), str(y)] if x is not None else None,
        },
    )
    if source == Defect.Source.RESIDENT and (on_behalf_of is not None or selectors.my_households(project, actor)):
        # A household's own defect (or one entered for it): the service desk (if installed) files it as a request
        # linked to this defect, in this same transaction.
        defect_reported.send(sender=Defect, defect=defect, actor=actor, on_behalf_of=on_behalf_of)
    return defect


def _resolve(defect: Defect, *, actor: User | None, note: str, label: str, photo_after: PhotoIn) -> Defect:
    locked = Defect.objects.select_for_update(of=("self",)).get(pk=defect.pk)
    if locked.status != Defect.Status.REGISTERED:
        raise RenovationError("此问题不在待整改状态", "this defect is not awaiting a fix", status=409)
    now = timezone.now()
    note = _text(note, "resolved_note", "整改说明", "what was done", 500)
    photo_after = _photo(photo_after, actor=actor, path=defect.project.path, field="photo_after")
    Defect.objects.filter(pk=locked.pk).update(
        status=Defect.Status.RESOLVED,
        resolved_at=now,
        resolved_note=note,
        resolved_by_label=label[:100],
        photo_after=photo_after or locked.photo_after,
    )
    defect.refresh_from_db()
    audit.record("renovation.resolve_defect", defect, actor=actor, changes={"by": label[:100], "note": note})
    defect_progressed.send(sender=Defect, defect=defect, step="resolved", actor=actor)
    return defect


@transaction.atomic
def resolve_defect(defect: Defect, *, actor: User | None, note: str, photo_after: PhotoIn = None) -> Defect:
    """The contractor (with an account) reports the fix."""
    require(actor, "renovation.resolve_defect", defect)
    return _resolve(defect, actor=actor, note=note, label=str(actor) if actor else "", photo_after=photo_after)


@transaction.atomic
def resolve_defect_by_token(
    token: str, *, actor: User | None = None, name: str, note: str, photo_after: Upload | None = None
) -> Defect:
    """The contractor answers through the link it was sent: the token is its authority (baupen), no account."""
    require(actor, "renovation.answer_by_token", None)
    defect = Defect.objects.filter(token=token).select_related("project").first()
    if defect is None or not hmac.compare_digest(defect.token, token):
        raise RenovationError("链接无效", "this link is not valid", status=404)
    if defect.project.stage != Project.Stage.WORKS:
        raise RenovationError("项目不在施工阶段", "the project is not in works", status=409)
    name = _text(name, "name", "整改人", "your name", 100)
    return _resolve(defect, actor=None, note=note, label=name, photo_after=photo_after)


@transaction.atomic
def close_defect(defect: Defect, *, actor: User | None) -> Defect:
    """Only the supervisor closes (销项), after the contractor's fix."""
    require(actor, "renovation.close_defect", defect)
    locked = Defect.objects.select_for_update(of=("self",)).get(pk=defect.pk)
    if locked.status != Defect.Status.RESOLVED:
        raise RenovationError("施工单位尚未整改，不能销项", "the contractor has not reported a fix yet", status=409)
    now = timezone.now()
    Defect.objects.filter(pk=locked.pk).update(
        status=Defect.Status.CLOSED, closed_at=now, closed_by=actor if getattr(actor, "pk", None) else None
    )
    defect.refresh_from_db()
    audit.record("renovation.close_defect", defect, actor=actor, changes={"status": "closed"})
    defect_progressed.send(sender=Defect, defect=defect, step="closed", actor=actor)
    return defect


@transaction.atomic
def reject_fix(defect: Defect, *, actor: User | None, reason: str) -> Defect:
    """The supervisor finds the fix wanting: the defect goes back to the contractor (still open)."""
    require(actor, "renovation.close_defect", defect)
    reason = _text(reason, "reason", "退回理由", "reason", 300)
    locked = Defect.objects.select_for_update(of=("self",)).get(pk=defect.pk)
    if locked.status != Defect.Status.RESOLVED:
        raise RenovationError("只能退回已报整改的问题", "only a reported fix can be sent back", status=409)
    Defect.objects.filter(pk=locked.pk).update(status=Defect.Status.REGISTERED, resolved_at=None)
    defect.refresh_from_db()
    audit.record("renovation.reject_fix", defect, actor=actor, changes={"reason": reason})
    defect_progressed.send(sender=Defect, defect=defect, step="fix_rejected", actor=actor)
    return defect


# --- acceptance (验收) --------------------------------------------------------------------------------------------


@transaction.atomic
def sign_acceptance(work_item: WorkItem, *, actor: User | None, signer: str, checklist: list[dict]) -> AcceptanceSign:
    perms: dict[str, str] = {
        AcceptanceSign.Signer.SUPERVISION: "renovation.sign_as_supervision",
        AcceptanceSign.Signer.STREET_OFFICE: "renovation.sign_as_street_office",
    }
    perm = perms.get(signer)
    if perm is None:
        raise RenovationError("签字方无效", "unknown signer", field="signer")
    require(actor, perm, work_item.project)
    clean = [
        {
            "item": str(r.get("item") or "").strip()[:200],
            "ok": bool(r.get("ok")),
            "note": str(r.get("note") or "")[:300],
        }
        for r in checklist
    ]
    if not clean or any(not r["item"] for r in clean):
        raise RenovationError("请逐项填写验收清单", "fill in every line of the acceptance checklist", field="checklist")
    if not all(r["ok"] for r in clean):
        raise RenovationError(
            "验收清单有不合格项，不能签字", "a checklist line is not met; it cannot be signed", field="checklist"
        )
    try:
        with transaction.atomic():
            sign = AcceptanceSign.objects.create(
                work_item=work_item,
                signer=signer,
                checklist=clean,
                signed_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        raise RenovationError("已签字", "signed already", field="signer", status=409) from None
    audit.record("renovation.sign_acceptance", work_item, actor=actor, changes={"signer": signer, "lines": len(clean)})
    return sign


def acceptance_blockers(project: Project) -> list[tuple[str, str]]:
    """Why the project cannot be accepted now: (Chinese, English) reasons; empty when it can."""
    reasons = []
    open_count = selectors.open_defects(project).count()
    if open_count:
        reasons.append((f"尚有{open_count}个问题未销项", f"{open_count} defect(s) still open"))
    items = list(project.work_items.prefetch_related("signatures"))
    if not items:
        reasons.append(("没有施工内容", "the project has no work items"))
    for w in items:
        signed = {s.signer for s in w.signatures.all()}
        missing = set(AcceptanceSign.Signer.values) - signed
        if missing:
            reasons.append(
                (f"“{w.name}”的验收清单尚未全部签字", f"{w.name}: the acceptance checklist lacks a signature")
            )
        if w.progress < 100:
            reasons.append((f"“{w.name}”尚未完工（{w.progress}%）", f"{w.name} is not finished ({w.progress}%)"))
    return reasons


@transaction.atomic
def accept_project(project: Project, *, actor: User | None, accounts_body: str = "") -> Project:
    """竣工验收: refused while a defect is open or a checklist is unsigned; the accounts go out as a notice."""
    require(actor, "renovation.accept_project", project)
    locked = _locked_project(project)
    _stage(locked, Project.Stage.WORKS)
    # Defects are reported under the same project lock, so none can slip in between this check and the update.
    blockers = acceptance_blockers(project)
    if blockers:
        raise RenovationError("；".join(b[0] for b in blockers), "; ".join(b[1] for b in blockers), status=409)
    funding = list(project.funding.all())
    lines = selectors.plan_lines(project)
    # The notice is the Chinese of the bulletin board; a page in English translates its fixed words (marked for
    # the catalogue here) when it shows them (notices.selectors.page_tables).
    with translation.override(settings.LANGUAGE_CODE):
        tables = [
            {
                "title": gettext_noop("资金来源"),
                "columns": [gettext_noop("来源"), gettext_noop("金额（元）"), gettext_noop("说明")],
                "rows": [[f.get_source_display(), f"{f.amount:.2f}", f.note] for f in funding],
            },
            {
                "title": gettext_noop("改造内容与费用"),
                "columns": [
                    gettext_noop("内容"),
                    gettext_noop("范围"),
                    gettext_noop("费用（元）"),
                    gettext_noop("居民出资（元）"),
                ],
                "rows": [
                    [ln.item.name, ln.scope_label, f"{ln.cost:.2f}", f"{ln.residents_amount:.2f}"]
                    for ln in lines
                    if ln.passed
                ],
            },
            {
                "title": gettext_noop("施工内容"),
                "columns": [
                    gettext_noop("编号"),
                    gettext_noop("内容"),
                    gettext_noop("预算（元）"),
                    gettext_noop("进度"),
                ],
                "rows": [
                    [w.external_id, w.name, f"{w.budget:.2f}", f"{w.progress}%"] for w in project.work_items.all()
                ],
            },
        ]
    total = sum((f.amount for f in funding), Decimal(0))
    body = accounts_body.strip() or (
        f"{project.name}已于{timezone.localdate():%Y年%m月%d日}通过竣工验收。总预算{project.budget:.2f}元，"
        f"到位资金{total:.2f}元。各项费用见下表；每户分摊按公开的分摊规则计算，住户可在平台本项目页面查看本户账单并复核。"
    )
    notice = notice_actions.publish_notice(
        actor=actor,
        kind=Notice.Kind.ACCOUNTS,
        title=f"{project.name}结果公开",
        body=body,
        node=project.scope,
        tables=tables,
        matter=project.matter,
    )
    now = timezone.now()
    Project.objects.filter(pk=project.pk).update(stage=Project.Stage.ACCEPTED, accepted_at=now, accounts_notice=notice)
    project.stage, project.accepted_at, project.accounts_notice = Project.Stage.ACCEPTED, now, notice
    audit.record("renovation.accept_project", project, actor=actor, changes={"notice": notice.pk})
    return project


# --- the satisfaction survey after the works ------------------------------------------------------------------


@transaction.atomic
def survey_frame(project: Project, *, actor: User | None) -> UnitSet:
    """The households that ordered (点单, any answer) as a unit set, for a satisfaction survey that targets them
    (the surveys part counts their orders toward 参与率 through `renovation.participation`)."""
    require(actor, "renovation.survey_frame", project)
    unit_ids = Order.objects.filter(project=project).values_list("unit_id", flat=True).distinct()
    units = list(Unit.objects.filter(pk__in=unit_ids).order_by("path", "number", "id"))
    if not units:
        raise RenovationError("还没有住户点单", "no household has ordered yet", status=409)
    frame = registry_actions.create_unit_set(
        actor=actor,
        name=f"{project.name}·点单住户"[:100],
        kind=UnitSet.Kind.CUSTOM,
        scope=project.scope,
        units=units,
        description=f"{project.ref} orders",
    )
    audit.record("renovation.survey_frame", project, actor=actor, changes={"unit_set": frame.pk, "units": len(units)})
    return frame


# --- bills -------------------------------------------------------------------------------------------------------


def bill_shares(project: Project, line: PlanLine) -> dict[str, int]:
    """The fen of each household for an adopted plan line (the published figure; recomputable by the command)."""
    label, members = selectors.scope_members(project, line.item)[line.scope_key]
    try:
        result = compute_shares(selectors.share_request(line.item, members, line.residents_amount))
    except SharesInputError as exc:
        raise RenovationError(exc.zh, exc.en) from None
    return result.shares_fen
