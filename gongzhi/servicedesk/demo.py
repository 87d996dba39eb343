"""The service desk's part of the demo, through the actions (so limits, escalations, audit and SMS are real).

- The district's catalogue (派单目录): stair lights, drains, utilities, emergencies, help for the elderly, dumped
  bulky waste, complex requests — each with its body, its limit (hours, working days or calendar days) and its
  questions.
- A month of requests across 福华街's compounds, on the web, the hotline and door to door, in every state: some
  dispatched to 郑州油漆厂 (a 驻区单位), most open to the takers; two party members of 铁道家园社区 taking orders;
  some late and escalated (催办 → 督办), some returned for re-handling after an unsatisfied follow-up, one
  objection waiting for a decision, duplicates merged; the follow-up calls due today.
- The illegal-dumping reports of the bulky-waste demo, filed as requests.
- An Open311 client ("演示客户端") whose key is printed with the accounts.
Idempotent: nothing is added when the catalogue exists.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from gongzhi.bulkywaste.models import DumpingReport
from gongzhi.core import audit
from gongzhi.core.models import RoleAssignment, User
from gongzhi.organizations.models import Membership, Organization
from gongzhi.registry.models import AreaNode, Person
from gongzhi.renovation import links
from gongzhi.renovation.models import Defect
from gongzhi.servicedesk import actions, hooks, testing
from gongzhi.servicedesk.models import Category, FollowUpCall, ServiceRequest

PARTY_PASSWORD = "Tiedao-Party-2026"
PARTY_MEMBERS = [("party_member_1", "油漆厂家属院"), ("party_member_2", "航海小区二院")]
DAYS = 30
PER_DAY = 2

DESCRIPTIONS = {
    "stair_light": ["{b}楼道灯不亮，晚上上下楼看不见", "{b}三楼声控灯坏了一个星期"],
    "drain_blocked": ["{b}门口下水道堵了，污水漫到路面", "院里雨水井堵塞，一下雨就积水"],
    "gas_water_power": ["{b}停水半天了，没有接到通知", "暖气不热，家里只有十四五度"],
    "emergency": ["{b}楼道有燃气味", "院里大树枝快断了，悬在停车位上方"],
    "elderly_help": ["独居老人腿脚不便，想请人帮忙买菜", "高龄老人家里灯泡坏了，需要上门换一下"],
    "bulky_dumping": ["院门口有人扔了旧沙发和床垫", "楼道里堆了旧柜子，挡住通道"],
    "complex": ["小区停车位划分有争议，希望社区协调", "院墙开裂，担心倒塌，需要鉴定"],
}
ANSWERS = {"stair_light": {"floor": "3"}, "drain_blocked": {"overflow": "yes"}, "elderly_help": {"needs": ["shopping"]}}
# The state each request is left in, in turn; "late" ones are left in progress past their limit.
PLAN = ["archived", "rated", "rated", "followed_up", "completed", "in_progress", "late", "taken", "dispatched",
        "accepted", "returned", "merged", "objection", "rated", "archived", "late"]  # fmt: skip


def load(ctx) -> None:
    if ctx.district is None:
        return
    if Category.objects.exists():
        ctx.say("诉求办理演示数据已存在，跳过 / service-desk demo already loaded, skipping")
        _party_members(ctx)  # nothing new: only lists the accounts again
        return
    with transaction.atomic():
        cats = testing.catalogue(ctx.district)
        takers = _party_members(ctx)
        key = _open311_client(ctx)
    count = _month(ctx, cats, takers)
    filed = _dumping(ctx)
    filed_defects = _renovation_defects()
    escalated = actions.escalate_due()
    ctx.say(
        f"诉求办理：{count} 件诉求（近{DAYS}天），{filed} 件乱丢大件垃圾举报转为工单，{escalated} 次催办/督办 / "
        f"service desk: {count} requests over {DAYS} days, {filed} dumping reports filed, {escalated} escalations"
    )
    if filed_defects:
        ctx.say(f"改造质量问题转为工单 {filed_defects} 件 / renovation defects filed as requests: {filed_defects}")
    ctx.notes += [
        "诉求办理：/service/ ；社区工作者 community_worker 在 /service/queue/ 派单，党员 party_member_1 在 /service/near/ "
        "接单，热线坐席 hotline_operator 在 /service/hotline/ 受理、在 /service/calls/ 回访；公开看板 /service/board/ / "
        "service desk at /service/: dispatch at /service/queue/, take orders at /service/near/, hotline intake and "
        "follow-up calls, public boards at /service/board/",
        f"Open311：/open311/v2/discovery.xml ；演示客户端的 api_key / the demo client's api_key: {key}",
    ]


def _party_members(ctx) -> list[User]:
    """Two party members of 铁道家园社区 who take orders (党员接单), each at their own compound."""
    takers = [ctx.user("party_liaison")]
    for username, compound in PARTY_MEMBERS:
        node = ctx.compound(compound)
        user = User.objects.filter(username=username).first()
        if user is None:
            member = (
                Membership.objects.filter(
                    organization__path__startswith=node.path, is_party_member=True, until__isnull=True
                )
                .select_related("person")
                .exclude(person__accounts__isnull=False)
                .first()
            )
            user = User(
                username=username, display_name=f"演示：党员（{compound}）", person=member.person if member else None
            )
            user.set_password(PARTY_PASSWORD)
            user.save()
            RoleAssignment.objects.create(user=user, role="party_liaison", node=node)
            audit.record("demo.create_user", user, actor=None, changes={"role": "party_liaison", "node": node.pk})
        ctx.accounts.append((username, "党员联络员（接单）", node.name, PARTY_PASSWORD))
        takers.append(user)
    return takers


def _open311_client(ctx) -> str:
    _client, key = actions.create_open311_client(actor=None, name="演示客户端", node=ctx.district, per_minute=60)
    return key


def _compounds(ctx) -> tuple[list[AreaNode], list[AreaNode]]:
    """Compounds of 铁道家园社区 (where the party members are) and some elsewhere in 福华街."""
    street = ctx.node("福华街街道")
    tiedao = ctx.node("福华街街道", "铁道家园社区")
    rows = list(
        AreaNode.objects.filter(path__startswith=street.path, level__is_compound=True)
        .select_related("level")
        .order_by("path")[:400]
    )
    inside = [c for c in rows if c.path.startswith(tiedao.path)][:20]
    return inside, [c for c in rows if not c.path.startswith(tiedao.path)][:8]


def _month(ctx, cats: dict[str, Category], takers: list[User]) -> int:
    rng = ctx.rng("servicedesk")
    now = timezone.now()
    worker, operator = ctx.user("community_worker"), ctx.user("hotline_operator")
    street_staff = ctx.user("subdistrict_staff")
    resident = ctx.user("resident")
    inside, elsewhere = _compounds(ctx)
    tiedao = ctx.node("福华街街道", "铁道家园社区")
    paint = Organization.objects.filter(name="郑州油漆厂").first()
    codes = [code for code in cats if code not in testing.HANDED_OVER]  # those are filed by their own part
    made: list[ServiceRequest] = []
    n = 0
    for day in range(DAYS, 0, -1):
        for _ in range(PER_DAY):
            plan = PLAN[n % len(PLAN)]
            n += 1
            code = codes[rng.randrange(len(codes))]
            roll = rng.random()
            if roll < 0.45:  # the party members' own compounds
                compound = ctx.compound(PARTY_MEMBERS[rng.randrange(len(PARTY_MEMBERS))][1])
            elif roll < 0.85:
                compound = inside[rng.randrange(len(inside))]
            else:
                compound = (elsewhere or inside)[rng.randrange(len(elsewhere or inside))]
            t0 = now - timedelta(days=day, hours=rng.randint(0, 8))
            with transaction.atomic():
                req = _intake(ctx, rng, cats[code], compound, t0, operator, resident, n)
                made.append(req)
                in_tiedao = compound.path.startswith(tiedao.path)
                if not in_tiedao and plan not in ("accepted", "merged"):
                    plan = "dispatched"  # the other communities' takers are not on the platform yet: it waits, late
                _advance(rng, req, plan, t0, now, worker if in_tiedao else street_staff, operator, takers, paint,
                         made)  # fmt: skip
    return len(made)


def _intake(ctx, rng, category, compound, t0, operator, resident, n) -> ServiceRequest:
    text = DESCRIPTIONS[category.code][n % 2].format(b=f"{rng.randint(1, 6)}号楼")
    answers = ANSWERS.get(category.code, {})
    if n % 5 == 0 and compound.name == "油漆厂家属院":
        return actions.submit_request(
            actor=resident, category=category, description=text, channel="web", node=compound, answers=answers,
            now=t0,
        )  # fmt: skip
    person = Person.objects.filter(home_path__startswith=compound.path).exclude(phone="").order_by("id").first()
    return actions.submit_request(
        actor=operator, category=category, description=text, channel="hotline" if n % 3 else "door",
        node=compound, answers=answers, on_behalf_of=person,
        requester_phone="" if person else "17000009999", requester_name="" if person else "来电群众", now=t0,
    )  # fmt: skip


def _advance(rng, req, plan, t0, now, dispatcher, operator, takers, paint, made) -> None:
    def at(hours: float):
        return min(t0 + timedelta(hours=hours), now - timedelta(minutes=1))

    if plan == "accepted":
        return
    if plan == "merged":
        earlier = next((r for r in reversed(made[:-1]) if r.status not in ("merged", "archived")), None)
        if earlier is not None:
            actions.merge_duplicate(req, actor=dispatcher, into=earlier, note="同一问题", now=at(1))
        return
    to_org = paint if (plan == "dispatched" and paint is not None and rng.random() < 0.5) else None
    actions.dispatch_request(req, actor=dispatcher, to_org=to_org, now=at(1))
    if plan in ("dispatched",):
        return
    if plan == "objection":
        taker = _taker_for(req, takers)
        actions.object_to_dispatch(req, actor=taker, reason="该问题属供水单位职责，非党员可处理", now=at(2))
        return
    taker = _taker_for(req, takers)
    actions.take_request(req, actor=taker, now=at(2))
    if plan == "taken":
        return
    contact_hours = 2.5 if rng.random() < 0.8 else 30  # one in five contacted after the response limit
    actions.contact_requester(req, actor=taker, note="已电话联系", now=at(contact_hours))
    actions.start_handling(req, actor=taker, now=at(contact_hours + 0.5))
    if plan in ("in_progress", "late"):
        if plan == "in_progress" and rng.random() < 0.5:
            actions.extend_request(req, actor=taker, value=2, unit="workdays", reason="需等待配件到货", now=at(4))
        return
    limit_hours = max(1.0, (req.due_at - req.accepted_at).total_seconds() / 3600)
    done = at(max(contact_hours + 1, limit_hours * (0.4 if rng.random() < 0.8 else 1.3)))  # one in five late
    actions.complete_request(req, actor=taker, resolution="已上门处理完毕", now=done)
    if plan == "completed":
        return
    call = FollowUpCall.objects.get(request=req, done_at__isnull=True)
    solved = plan != "returned" and rng.random() < 0.9
    satisfaction = "unsatisfied" if plan == "returned" else rng.choice(["satisfied", "satisfied", "basic"])
    rate_now = plan in ("rated", "archived", "returned")
    actions.record_follow_up(
        call, actor=operator, outcome="reached", solved=solved, satisfaction=satisfaction if rate_now else "",
        note="诉求人确认", now=min(done + timedelta(days=1), now - timedelta(minutes=1)),
    )  # fmt: skip
    req.refresh_from_db()
    later = min(done + timedelta(days=1, hours=1), now - timedelta(minutes=1))
    if plan == "returned":
        actions.return_for_rework(req, actor=dispatcher, reason="回访不满意：问题未解决", now=later)
    elif plan == "archived":
        actions.archive_request(req, actor=dispatcher, now=later)


def _taker_for(req, takers: list[User]) -> User:
    """A party member whose compound is the request's; elsewhere in 铁道家园社区 the community worker (社区兜底)."""
    matches = [
        user
        for user in takers
        if any(req.path.startswith(p) for p in user.role_assignments.values_list("scope_path", flat=True))
    ]
    if matches:
        return matches[req.pk % len(matches)]
    return User.objects.get(username="community_worker")


def _renovation_defects() -> int:
    """Residents' defects of the renovation demo (loaded before the catalogue existed), filed as the hook would."""
    filed = 0
    residents = Defect.objects.filter(source=Defect.Source.RESIDENT, reporter__isnull=False).exclude(
        status=Defect.Status.CLOSED
    )
    for defect in residents.select_related("project").order_by("id"):
        if ServiceRequest.objects.filter(source=links.defect_source(defect.pk)).exists():
            continue
        with transaction.atomic():
            if hooks.file_renovation_defect(Defect, defect=defect, on_behalf_of=defect.reporter) is not None:
                filed += 1
    return filed


def _dumping(ctx) -> int:
    filed = 0
    for report in DumpingReport.objects.select_related("area__node").order_by("id"):
        if ServiceRequest.objects.filter(source=f"bulkywaste:{report.reference}").exists():
            continue
        node = AreaNode.objects.filter(path=report.path).first() or report.area.node
        with transaction.atomic():
            hooks.file_dumping_report(DumpingReport, report=report, node=node)
        filed += 1
    return filed
