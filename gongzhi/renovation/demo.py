"""Renovation's part of the demo: the seed's three stages of 老旧小区改造, all through the actions.

- 桃源路47号院: menu and orders under way (online, door to door, hotline), its temporary party branch (street
  office cadres, the compound's party members, the contractor's), and a lift for 1号楼1单元 decided by that
  entrance's owners (Civil Code Art. 278 item (七), certified).
- 豪邦花园片区 (four 楼院 and the roads between, 路院同治): plan adopted, works under way with progress entries,
  a quality inspection, a milestone still to be published and an open defect past its deadline.
- 油漆厂家属院: accepted, with its accounts notice (结果公开) and every defect closed.
Demo accounts: `contractor` (member of the contractor), `supervisor` (豪邦花园片区议事监督小组),
`taoyuan_resident` (a household of 桃源路47号院). Idempotent: each project is made once (looked up by name).
"""

from __future__ import annotations

import io
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from gongzhi.core import audit
from gongzhi.core.models import RoleAssignment, User
from gongzhi.core.roles import ROLES
from gongzhi.deliberation.models import Matter
from gongzhi.notices.models import Notice
from gongzhi.notices.tasks import render_notice_pdf
from gongzhi.organizations import actions as org_actions
from gongzhi.organizations.models import Membership, Organization, OrgKind
from gongzhi.registry import actions as registry
from gongzhi.registry.models import AreaNode, Person, Residence, Unit, UnitSet
from gongzhi.renovation import actions, selectors
from gongzhi.renovation.models import Defect, MenuCategory, MenuItem, OwnersVote, Project
from gongzhi.voting import actions as voting
from gongzhi.voting import notices as builders  # the voting part posts its own notices
from gongzhi.voting.models import Ballot

TAOYUAN = "桃源路47号院综合改造"
HAOBANG = "豪邦花园片区综合改造（路院同治）"
PAINT = "油漆厂家属院综合改造"
CONTRACTOR = "郑州市二七建设工程有限公司"

# code, category, name, coverage, unit cost, cost basis, share basis, split (subsidy, residents, units, fund,
# public income), cap, consent (num, den) or Art. 278 matter, coefficients, depends on
MENU = [
    (
        "pipes",
        "basic",
        "供排水管网改造",
        "building",
        "1200.00",
        "per_household",
        "household",
        (90, 10, 0, 0, 0),
        None,
        (4, 5),
        None,
        (),
    ),
    ("roof", "basic", "屋面防水", "building", "60.00", "per_m2", "area", (90, 10, 0, 0, 0), None, (4, 5), None, ()),
    (
        "meter",
        "basic",
        "一户一表改造",
        "unit",
        "800.00",
        "per_household",
        "household",
        (0, 100, 0, 0, 0),
        None,
        (1, 1),
        None,
        ("pipes",),
    ),
    (
        "walls",
        "improvement",
        "外墙保温与粉刷",
        "building",
        "80.00",
        "per_m2",
        "area",
        (85, 15, 0, 0, 0),
        None,
        (4, 5),
        None,
        (),
    ),
    (
        "lighting",
        "improvement",
        "楼道及院内照明",
        "compound",
        "30000.00",
        "lump_sum",
        "household",
        (100, 0, 0, 0, 0),
        None,
        (2, 3),
        None,
        (),
    ),
    (
        "lift",
        "improvement",
        "加装电梯",
        "entrance",
        "600000.00",
        "lump_sum",
        "floor_area",
        (75, 25, 0, 0, 0),
        "20000.00",
        "alter_rebuild",
        {"3": "0.7", "4": "0.8", "5": "0.9", "6": "1.0", "7": "1.1"},
        (),
    ),
    (
        "stair_windows",
        "basic",
        "楼道窗更换（使用维修资金）",
        "building",
        "20000.00",
        "lump_sum",
        "area",
        (0, 0, 0, 100, 0),
        None,
        "use_fund",
        None,
        (),
    ),
    (
        "parcel",
        "enhancement",
        "快递末端综合服务站",
        "compound",
        "30000.00",
        "lump_sum",
        "household",
        (50, 0, 0, 0, 50),
        None,
        (2, 3),
        None,
        (),
    ),
    (
        "canteen",
        "enhancement",
        "老年助餐点",
        "compound",
        "80000.00",
        "lump_sum",
        "household",
        (100, 0, 0, 0, 0),
        None,
        (4, 5),
        None,
        (),
    ),
]


def _menu(district: AreaNode) -> dict[str, MenuItem]:
    items = {i.code: i for i in MenuItem.objects.filter(district=district)}
    categories = {c.code: c for c in MenuCategory.objects.filter(district__isnull=True)}
    for code, cat, name, coverage, cost, basis, share, split, cap, consent, coeff, deps in MENU:
        if code in items:
            continue
        fields = dict(
            zip(("pct_subsidy", "pct_residents", "pct_units", "pct_fund", "pct_public_income"), split, strict=True)
        )
        if isinstance(consent, str):
            fields.update(consent=MenuItem.Consent.OWNERS_VOTE, matter=consent)
        else:
            fields.update(consent_numerator=consent[0], consent_denominator=consent[1])
        items[code] = actions.create_menu_item(
            actor=None,
            district=district,
            category=categories[cat],
            code=code,
            name=name,
            coverage=coverage,
            unit_cost=cost,
            cost_basis=basis,
            share_basis=share,
            household_cap=cap,
            floor_coefficients=coeff or {},
            depends_on=[items[d] for d in deps],
            order=len(items),
            **fields,
        )
    return items


def _org(kind: str, node: AreaNode, name: str, **kw) -> Organization:
    org = Organization.objects.filter(name=name, node=node).first()
    if org is None:
        org = org_actions.create_organization(
            actor=None, kind=OrgKind.objects.get(code=kind), node=node, name=name, **kw
        )
    return org


def _person(name: str, home: AreaNode) -> Person:
    return Person.objects.filter(name=name, home_path=home.path).first() or registry.create_person(
        actor=None, name=name, home_path=home.path
    )


def _member(org: Organization, person: Person, role: str = Membership.Role.MEMBER, party: bool = False) -> None:
    if not Membership.objects.filter(organization=org, person=person, until__isnull=True).exists():
        org_actions.add_member(org, actor=None, person=person, role=role, is_party_member=party)


def _unit_set(court: AreaNode) -> UnitSet:
    name = f"{court.name}全院"
    return UnitSet.objects.filter(scope=court, name=name).first() or registry.create_unit_set(
        actor=None, name=name, kind=UnitSet.Kind.COMPOUND, scope=court, nodes=[court]
    )


def _heads(project: Project) -> dict[int, Person]:
    """One person per household (the household head first) to answer on its behalf."""
    ids = [h.unit_id for h in selectors.households(project)]
    out: dict[int, Person] = {}
    for r in (
        Residence.objects.filter(unit_id__in=ids, until__isnull=True)
        .select_related("person")
        .order_by("-is_household_head", "id")
    ):
        out.setdefault(r.unit_id, r.person)
    return out


def _orders(project: Project, rng, *, reach: float, yes: dict[str, float]) -> int:
    """Answers of `reach` of the households, door to door or by hotline, agreeing at each item's rate."""
    heads = _heads(project)
    units = {u.pk: u for u in Unit.objects.filter(pk__in=list(heads))}
    made = 0
    for unit_id, person in heads.items():
        if rng.random() > reach:
            continue
        for item in selectors.menu_items(project):
            if item.code not in yes:
                continue
            actions.place_order(
                project,
                actor=None,
                unit=units[unit_id],
                item=item,
                agrees=rng.random() < yes[item.code],
                willing_to_pay=True,
                channel=rng.choice(("door", "door", "hotline")),
                on_behalf_of=person,
            )
            made += 1
    return made


def _decide_by_owners(project: Project, item: MenuItem, scope_key: str, now) -> None:
    """Call, run and certify the owners' vote of one scope: every owner agrees (as the entrance did)."""
    opens, closes = now - timedelta(days=20), now - timedelta(days=6)
    routed = actions.route_to_owners_vote(
        project, actor=None, item=item, scope_key=scope_key, opens_at=opens, closes_at=closes
    )
    vote = routed.vote
    voting.publish_roll(vote, actor=None, now=now - timedelta(days=40))
    builders.build_roll_notice(vote.pk, actor=None)  # the entrance's voter roll, posted as the law asks
    voting.open_vote(vote, actor=None, now=opens + timedelta(hours=1))
    for k, entry in enumerate(vote.roll.order_by("number")):
        voting.cast_ballot(
            vote,
            entry,
            actor=None,
            choice=Ballot.Choice.YES,
            channel=Ballot.Channel.DOOR,
            idempotency_key=f"demo-lift-{vote.pk}-{entry.number}",
            now=opens + timedelta(hours=2 + k),
        )
    voting.close_vote(vote, actor=None, now=closes + timedelta(minutes=5))
    voting.certify_result(vote, actor=None, now=closes + timedelta(days=1))
    builders.build_result_notice(vote.pk, actor=None)


def _works(project: Project, items: list[tuple[str, str, str, int]], location: AreaNode | None = None) -> None:
    for ext, name, budget, progress in items:
        work = actions.add_work_item(project, actor=None, external_id=ext, name=name, budget=budget, location=location)
        if progress:
            actions.report_progress(
                work, actor=None, progress=progress // 2, on=timezone.localdate() - timedelta(days=20), note="阶段施工"
            )
            actions.report_progress(work, actor=None, progress=progress, note="现场照片已存档")


def _taoyuan(ctx, items, contractor: Organization) -> None:
    court = ctx.compound("桃源路47号院")
    project = actions.create_project(
        actor=None,
        name=TAOYUAN,
        unit_set=_unit_set(court),
        menu=[items[c] for c in ("pipes", "roof", "meter", "walls", "lighting", "lift", "parcel", "canteen")],
        budget="1850000.00",
        contractor=contractor,
        starts_on=ctx.today + timedelta(days=45),
        ends_on=ctx.today + timedelta(days=200),
    )
    subdistrict = ctx.node("大学路街道")
    cadre = _person("大学路街道城建办干部", subdistrict)
    party = list(
        Membership.objects.filter(
            organization__path__startswith=court.path, organization__kind__category="party", until__isnull=True
        ).select_related("person")[:2]
    )
    engineer = _person("二七建设项目经理", ctx.district)
    _member(contractor, engineer, Membership.Role.CONTACT, True)
    members = [(cadre, Membership.Role.SECRETARY, True)]
    members += [(m.person, Membership.Role.MEMBER, True) for m in party]
    members.append((engineer, Membership.Role.MEMBER, True))
    actions.found_party_branch(project, actor=None, name="桃源路47号院改造项目临时党支部", members=members)
    actions.add_funding(project, actor=None, source="subsidy", amount="1500000.00", note="中央和省级补助资金")
    actions.add_funding(project, actor=None, source="residents", amount="120000.00", note="居民按户、按面积出资")
    rng = ctx.rng("renovation.taoyuan")
    _orders(
        project,
        rng,
        reach=0.7,
        yes={"pipes": 0.95, "roof": 0.9, "meter": 0.8, "walls": 0.7, "parcel": 0.6, "canteen": 0.9},
    )
    entrance = next(h.entrance[0] for h in selectors.households(project))
    _decide_by_owners(project, items["lift"], entrance, timezone.now())


def _haobang(ctx, items, contractor: Organization) -> Project:
    pianqu = UnitSet.objects.get(name="豪邦花园片区")
    community = pianqu.scope
    group = _org("supervision_group", community, "豪邦花园片区议事监督小组")
    project = actions.create_project(
        actor=None,
        name=HAOBANG,
        unit_set=pianqu,
        menu=[items[c] for c in ("pipes", "roof", "walls", "lighting", "canteen")],
        budget="3200000.00",
        contractor=contractor,
        supervisor=group,
        starts_on=ctx.today - timedelta(days=60),
        ends_on=ctx.today + timedelta(days=90),
    )
    actions.add_funding(project, actor=None, source="subsidy", amount="2880000.00")
    actions.add_funding(project, actor=None, source="residents", amount="96000.00")
    actions.add_funding(project, actor=None, source="public_income", amount="24000.00", note="四个楼院停车收益")
    _orders(
        project,
        ctx.rng("renovation.haobang"),
        reach=0.95,
        yes={"pipes": 0.97, "roof": 0.95, "walls": 0.9, "lighting": 0.9, "canteen": 0.85},
    )
    actions.adopt_plan(project, actor=None)
    actions.start_works(project, actor=None)
    _works(
        project,
        [
            ("HB-01", "四院供排水管网", "900000.00", 100),
            ("HB-02", "屋面防水", "600000.00", 80),
            ("HB-03", "外墙保温与粉刷", "1200000.00", 40),
            ("HB-04", "院间道路与照明（路院同治）", "500000.00", 20),
        ],
    )
    actions.add_milestone(project, actor=None, title="开工", on=ctx.today - timedelta(days=60))
    actions.add_milestone(
        project, actor=None, title="管网改造完成", on=ctx.today - timedelta(days=10), description="四个楼院管网全部通水"
    )
    actions.add_milestone(
        project,
        actor=None,
        title="竣工验收（计划）",
        on=ctx.today + timedelta(days=90),
        publication_date=ctx.today + timedelta(days=80),
    )
    actions.record_inspection(
        project,
        actor=None,
        kind="quality",
        on=ctx.today - timedelta(days=5),
        checklist=[
            {"item": "屋面防水卷材搭接", "ok": True},
            {"item": "外墙保温层锚固", "ok": False, "note": "北院2号楼局部锚栓不足"},
            {"item": "施工围挡与警示", "ok": True},
        ],
        summary="外墙保温锚固需整改",
    )
    north = AreaNode.objects.filter(path__startswith=project.path, name="豪邦花园北院").first()
    building = AreaNode.objects.filter(parent=north, name="2号楼").first() if north else None
    # The building's typical floor, on which the open defects are placed (baupen): drawn here, uploaded as staff do.
    plan = actions.upload_plan(
        project,
        actor=None,
        title="2号楼标准层平面图",
        building=building,
        floor=3,
        image=(floor_plan_png(), "haobang-north-2-floor-3.png"),
    )
    defect = actions.report_defect(
        project,
        actor=None,
        source="inspector",
        description="外墙保温层锚栓数量不足",
        deadline=ctx.today,
        location=building,
        spot="南立面三至五层",
        floor=3,
        plan=plan,
        plan_xy=("30.00", "93.00"),  # the south wall of the west flat
        work_item=project.work_items.get(external_id="HB-03"),
    )
    # an older defect from the residents' walk-through, past its deadline: the overdue flag shows
    Defect.objects.filter(pk=defect.pk).update(
        registered_at=timezone.now() - timedelta(days=5), deadline=ctx.today - timedelta(days=2)
    )
    head = next(iter(_heads(project).values()), None)
    if head is not None:  # a resident's own report, taken by the hotline: the service desk files it as a request
        actions.report_defect(
            project,
            actor=None,
            source="resident",
            description="楼梯扶手松动",
            deadline=ctx.today + timedelta(days=7),
            spot="三楼楼梯口",
            floor=3,
            plan=plan,
            plan_xy=("50.00", "40.00"),  # the stair's landing
            on_behalf_of=head,
        )
    fixed = actions.report_defect(
        project, actor=None, source="supervision", description="东院雨水管接口渗漏", deadline=ctx.today
    )
    actions.resolve_defect_by_token(fixed.token, name="二七建设 王工", note="已更换接口并试水")
    actions.close_defect(fixed, actor=None)
    return project


def floor_plan_png(width: int = 960, height: int = 600) -> bytes:
    """A plain typical-floor plan of a 1980s walk-up: two flats either side of the stair, drawn with Pillow
    (labels in ASCII: the default font has no Chinese)."""
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=20)
    ink, thin = (40, 40, 40), (120, 120, 120)
    m = 40  # margin
    left, top, right, bottom = m, m, width - m, height - m
    draw.rectangle((left, top, right, bottom), outline=ink, width=8)  # outer walls
    stair_l, stair_r = width // 2 - 80, width // 2 + 80
    draw.line((stair_l, top, stair_l, bottom), fill=ink, width=6)
    draw.line((stair_r, top, stair_r, bottom), fill=ink, width=6)
    for y in range(top + 150, bottom - 150, 22):  # the stair's treads
        draw.line((stair_l + 10, y, stair_r - 10, y), fill=thin, width=2)
    draw.text((width // 2, top + 60), "STAIR", fill=ink, font=font, anchor="mm")
    mid = top + (bottom - top) * 11 // 20
    for x0, x1 in ((left, stair_l), (stair_r, right)):  # each flat: living room to the south, bedroom, kitchen
        draw.line((x0, mid, x1, mid), fill=ink, width=5)
        split = x0 + (x1 - x0) * 3 // 5
        draw.line((split, top, split, mid), fill=ink, width=5)
        draw.text(((x0 + split) // 2, (top + mid) // 2), "BEDROOM", fill=ink, font=font, anchor="mm")
        draw.text(((split + x1) // 2, (top + mid) // 2), "KITCHEN", fill=ink, font=font, anchor="mm")
        draw.text(((x0 + x1) // 2, (mid + bottom) // 2), "LIVING", fill=ink, font=font, anchor="mm")
        draw.rectangle(((x0 + x1) // 2 - 70, bottom - 4, (x0 + x1) // 2 + 70, bottom + 4), fill="white", outline=ink)
    draw.text((width // 2, height - 14), "N-2 TYPICAL FLOOR  (SOUTH)", fill=ink, font=font, anchor="mm")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _paint(ctx, items, contractor: Organization) -> None:
    court = ctx.compound("油漆厂家属院")
    group = _org("supervision_group", court, "油漆厂家属院议事监督小组")

    project = actions.create_project(
        actor=None,
        name=PAINT,
        unit_set=_unit_set(court),
        menu=[items[c] for c in ("pipes", "roof", "meter", "lighting")],
        budget="980000.00",
        contractor=contractor,
        supervisor=group,
        matter=Matter.objects.filter(title="油漆厂家属院楼顶防水维修").first(),
        starts_on=ctx.today - timedelta(days=200),
        ends_on=ctx.today - timedelta(days=20),
    )
    actions.add_funding(project, actor=None, source="subsidy", amount="880000.00")
    actions.add_funding(project, actor=None, source="residents", amount="62000.00")
    actions.add_funding(project, actor=None, source="units", amount="38000.00", note="郑州油漆厂（产权单位）出资")
    _orders(
        project, ctx.rng("renovation.paint"), reach=1.0, yes={"pipes": 1.0, "roof": 0.95, "meter": 0.9, "lighting": 0.9}
    )
    actions.adopt_plan(project, actor=None)
    actions.start_works(project, actor=None)
    _works(
        project,
        [
            ("YQ-01", "供排水管网与一户一表", "520000.00", 100),
            ("YQ-02", "屋面防水", "380000.00", 100),
            ("YQ-03", "照明", "80000.00", 100),
        ],
    )
    defect = actions.report_defect(
        project, actor=None, source="resident", description="3号楼楼道灯不亮", deadline=ctx.today
    )
    actions.resolve_defect_by_token(defect.token, name="二七建设 李工", note="已更换灯具")
    actions.close_defect(defect, actor=None)
    checklist = [{"item": "施工内容与菜单一致", "ok": True}, {"item": "无遗留问题", "ok": True}]
    for work in project.work_items.all():
        actions.sign_acceptance(work, actor=None, signer="supervision", checklist=checklist)
        actions.sign_acceptance(work, actor=None, signer="street_office", checklist=checklist)
    actions.accept_project(project, actor=None)


def _account(ctx, username: str, role: str, password: str, node: AreaNode, person: Person) -> None:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, display_name=f"演示：{ROLES[role].label}", person=person)
        validate_password(password, user)
        user.set_password(password)
        user.save()
        RoleAssignment.objects.create(user=user, role=role, node=node)
        audit.record("demo.create_user", user, actor=None, changes={"role": role, "node": node.pk})
    ctx.accounts.append((username, str(ROLES[role].label), node.name, password))


def load(ctx) -> None:
    district = ctx.district
    if district is None:
        return
    with transaction.atomic():
        items = _menu(district)
        contractor = _org("contractor", district, CONTRACTOR, phone="0371-68830001")
        if not Project.objects.filter(name=TAOYUAN).exists():
            _taoyuan(ctx, items, contractor)
        if not Project.objects.filter(name=HAOBANG).exists():
            _haobang(ctx, items, contractor)
        if not Project.objects.filter(name=PAINT).exists():
            _paint(ctx, items, contractor)
        engineer = _person("二七建设现场负责人", district)
        _member(contractor, engineer)
        _account(ctx, "contractor", "contractor", "Erqi-Builder-2026", district, engineer)
        group = Organization.objects.get(name="豪邦花园片区议事监督小组")
        east = ctx.compound("豪邦花园东院")
        watcher = Residence.objects.filter(unit__compound=east, until__isnull=True).select_related("person").first()
        if watcher is not None:
            _member(group, watcher.person, Membership.Role.LEADER)
            _account(ctx, "supervisor", "resident", "Haobang-Watch-2026", east, watcher.person)
        taoyuan = ctx.compound("桃源路47号院")
        home = (
            Residence.objects.filter(unit__compound=taoyuan, until__isnull=True)
            .order_by("unit__path", "unit__number")
            .select_related("person")
            .first()
        )
        if home is not None:
            _account(ctx, "taoyuan_resident", "resident", "Taoyuan-47-Home", taoyuan, home.person)
    # Printable PDFs of our notices (accounts, the lift vote's roll and result), as the notices demo does for its own.
    ours = Notice.objects.filter(
        Q(pk__in=Project.objects.exclude(accounts_notice=None).values("accounts_notice"))
        | Q(vote_id__in=OwnersVote.objects.values("vote_id"))
    )
    for notice in ours:
        if not notice.pdf_is_current:
            render_notice_pdf.call(notice.pk)
    ctx.notes.append(
        "老旧小区改造 /renovation/：桃源路47号院点单中（taoyuan_resident 查看菜单与自家费用并点单），豪邦花园片区施工中"
        "（contractor 填报进度、答复问题；supervisor 检查与验收），油漆厂家属院已验收并公开结果 / renovation at /renovation/"
    )
