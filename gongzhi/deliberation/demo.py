"""Deliberation's part of the demo: one matter in each stage of 一征三议两公开, in 铁道家园社区.

油漆厂家属院 (where the demo resident lives) has a matter in 一征 (give an opinion) and one in 决议公开 (lodge
an objection, the notice runs from today); 航海小区's courtyards carry the others. In 大学路街道, 桃源路47号院's
renovation is in 一征 too, run by the district (the demo has no worker there): the surveys demo tags its needs
survey with it, so the matter page shows the survey, its answers so far and the matter's 参与率. Every step goes through the
actions, on past dates, as the community worker — so the timelines, notices and audit log are real.
Idempotent: a matter whose title exists is left alone.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from gongzhi.deliberation import actions
from gongzhi.deliberation.models import Matter
from gongzhi.registry import actions as registry
from gongzhi.registry.models import AreaNode, Residence, UnitSet

COMMUNITY = ("福华街街道", "铁道家园社区")

# title, courtyard, target stage, summary, proposal
MATTERS = [
    ("油漆厂家属院加装电梯意愿征集", "油漆厂家属院", "solicit", "逐户征求全院居民对加装电梯的意愿和需求。", ""),
    (
        "航海小区一院雨污分流改造",
        "航海小区一院",
        "propose",
        "雨天污水倒灌，拟实施雨污分流。",
        "更换院内排水管网，雨水、污水分设管道。",
    ),
    (
        "航海小区二院停车位划线及充电桩",
        "航海小区二院",
        "review",
        "规范停车，增设电动自行车充电桩。",
        "院内划定停车位30个，增设充电桩2组。",
    ),
    (
        "航海小区三院楼道照明改造",
        "航海小区三院",
        "resolve",
        "楼道灯损坏多年，老人夜间上下楼不便。",
        "更换为声光控LED楼道灯。",
    ),
    (
        "油漆厂家属院楼顶防水维修",
        "油漆厂家属院",
        "resolution_notice",
        "顶层住户反映漏雨。",
        "对1至6号楼屋面重做防水层，由社区代管资金列支。",
    ),
    ("航海小区四院围墙修缮", "航海小区四院", "implementation", "围墙破损，存在安全隐患。", "拆除危墙，新砌围墙120米。"),
    ("航海小区一院垃圾分类亭建设", "航海小区一院", "results_notice", "落实生活垃圾分类。", "新建四分类垃圾亭1座。"),
    ("航海小区二院路灯更换", "航海小区二院", "closed", "路灯老化。", "更换院内路灯8盏。"),
]

# 桃源路47号院's renovation, in 一征 (its needs survey: surveys.demo.TAOYUAN)
TAOYUAN_MATTER = (
    "桃源路47号院老旧小区改造",
    "桃源路47号院",
    "在议定改造方案之前，逐户征求全院住户的改造需求：问卷、上门、热线。",
)

ORDER = ["solicit", "propose", "review", "resolve", "resolution_notice", "implementation", "results_notice", "closed"]


def _unit_set(ctx, courtyard_name: str) -> UnitSet:
    court = ctx.compound(courtyard_name)
    existing = UnitSet.objects.filter(scope=court, kind=UnitSet.Kind.COMPOUND, name=f"{courtyard_name}全院").first()
    return existing or registry.create_unit_set(
        actor=None, name=f"{courtyard_name}全院", kind=UnitSet.Kind.COMPOUND, scope=court, nodes=[court]
    )


def _meeting(matter, worker, body, title, day, minutes):
    meeting = actions.schedule_meeting(
        matter, actor=worker, body=body, title=title, held_on=day, agenda=f"研究“{matter.title}”", today=day
    )
    actions.record_minutes(meeting, actor=worker, minutes=minutes, today=day)
    return meeting


def _walk(matter: Matter, target: str, worker, start: date, today: date, proposal: str) -> None:
    """Take the matter stage by stage to `target`; the transition into a notice stage lands on `today`."""
    day = start
    while matter.stage.code != target:
        code = matter.stage.code
        if code == "propose":
            actions.save_proposal(matter, actor=worker, text=proposal)
            _meeting(matter, worker, "compound_party_branch", "党支部会议（提议）", day, "支部委员一致同意提出方案。")
        elif code == "review":
            _meeting(
                matter,
                worker,
                "residents_committee",
                "党员代表会和居委会联席会议（审议）",
                day,
                "对方案逐条审议，补充了施工期间的安全措施。",
            )
            actions.save_proposal(matter, actor=worker, text=proposal + "施工期间设置围挡和安全警示。", note="审议修改")
        elif code == "resolve":
            if ORDER.index(target) == ORDER.index("resolution_notice"):
                day = today
            assembly = _meeting(
                matter, worker, "residents_assembly", "居民大会", day, "应到户代表过半数出席，出席者多数同意方案。"
            )
            actions.record_assembly_resolution(
                matter, actor=worker, meeting=assembly, text="同意按审议后的方案实施。", today=day
            )
        elif code in ("resolution_notice", "results_notice"):
            day = max(day, matter.notice_ends_on + timedelta(days=1))
        elif code == "implementation":
            actions.add_report(matter, actor=worker, kind="progress", text="已进场施工。", percent=50)
            actions.add_account_line(
                matter,
                actor=worker,
                direction="income",
                item="区级老旧小区改造补助",
                amount=Decimal("86000.00"),
                source="区财政",
                on=day,
            )
            actions.add_account_line(
                matter,
                actor=worker,
                direction="expense",
                item="施工费用",
                amount=Decimal("79650.00"),
                source="施工单位",
                on=day,
            )
            actions.add_report(matter, actor=worker, kind="acceptance", text="经议事监督小组和居民代表验收合格。")
            if target == "results_notice":
                day = today
        actions.advance_matter(matter, actor=worker, today=day)
        matter.refresh_from_db()
        day += timedelta(days=3)


def _opinions(ctx, matter, worker) -> None:
    """A few households of 油漆厂家属院 reached: by hotline, at the door, and one marked visited without an opinion."""
    operator = ctx.user("hotline_operator")
    rows = (
        Residence.objects.filter(unit__path__startswith=matter.path, until__isnull=True, relation="owner")
        .select_related("unit", "person")
        .order_by("unit_id")[:6]
    )
    texts = [
        "家住五楼，年纪大了上下楼困难，盼望加装电梯。",
        "同意加装，希望费用按楼层合理分摊。",
        "一楼住户，担心影响采光。",
    ]
    for i, residence in enumerate(rows):
        if i < 3:
            actions.enter_opinion(
                matter,
                actor=operator,
                on_behalf_of=residence.person,
                unit=residence.unit,
                text=texts[i],
                channel="hotline" if i % 2 == 0 else "door",
                kind="need" if i == 0 else "opinion",
                idempotency_key=f"demo-{matter.pk}-{i}",
            )
        elif i == 3:
            actions.mark_reached(matter, actor=worker, unit=residence.unit, channel="door", note="已入户，暂无意见")


def _taoyuan(ctx) -> bool:
    title, courtyard, summary = TAOYUAN_MATTER
    if Matter.objects.filter(title=title).exists():
        return False
    try:
        ctx.compound(courtyard)
    except AreaNode.DoesNotExist:
        return False
    actions.create_matter(
        actor=ctx.user("district_admin"),
        title=title,
        unit_set=_unit_set(ctx, courtyard),
        summary=summary,
        today=ctx.today - timedelta(days=5),
    )
    return True


def load(ctx) -> None:
    try:
        worker = ctx.user("community_worker")
    except Exception:  # noqa: BLE001 - core's demo did not create its accounts
        ctx.say("deliberation: 未找到演示账号，跳过 / no demo accounts, skipping")
        return
    made = 0
    for title, courtyard, target, summary, proposal in MATTERS:
        if Matter.objects.filter(title=title).exists():
            continue
        with transaction.atomic():
            start = ctx.today - timedelta(days=120 if target in ("closed", "implementation") else 60)
            if target == "resolution_notice":
                start = ctx.today - timedelta(days=12)
            matter = actions.create_matter(
                actor=worker, title=title, unit_set=_unit_set(ctx, courtyard), summary=summary, today=start
            )
            if target == "solicit":
                _opinions(ctx, matter, worker)
            _walk(matter, target, worker, start + timedelta(days=2), ctx.today, proposal or summary)
            if target == "implementation":
                actions.add_report(matter, actor=worker, kind="progress", text="旧墙已拆除，新墙砌筑过半。", percent=60)
        made += 1
    with transaction.atomic():
        if _taoyuan(ctx):
            ctx.say(f"议事：{TAOYUAN_MATTER[0]}（一征）/ deliberation: 桃源路47号院's renovation, collecting needs")
    if made:
        ctx.say(f"议事：已建立{made}个议题，每个阶段一个 / deliberation: {made} matters, one per stage")
    ctx.notes.append(
        "议题 /deliberation/（社区工作者）；居民可对“油漆厂家属院楼顶防水维修”提出异议 / "
        "matters at /deliberation/; the resident may object to the roof-repair resolution"
    )
