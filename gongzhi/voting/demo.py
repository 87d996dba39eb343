"""Voting's part of the demo: 航海小区 after its renovation.

1. 选聘物业 — the owners of the whole estate (four 楼院) choose a property company, Civil Code Art. 278 item
   (四): called 7 weeks ago, roll published, 15-day notice, voted on paper, by phone and door-to-door
   (扫楼), closed and certified — it passes by double simple majority. Its roll and result go to notices.
2. 使用维修资金 — 航海小区二院 decides on using the maintenance fund for roof waterproofing, item (五): open
   now, with some ballots in, so the turnout page and the resident and worker flows have something to show.
3. 油漆厂家属院 — a residents' meeting (居民会议, one vote per household) of the demo resident's own 楼院 on
   setting up a self-management group: open now, some ballots in but not the demo resident's (a tenant
   heading a household, so on this roll though on no owners' roll), who can vote online with an SMS code
   and then check the receipt.

Everything goes through voting.actions with past `now=` values, so the audit log and ballot log are real.
Idempotent: each vote is made once (looked up by subject).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from gongzhi.core import synthetic
from gongzhi.notices.models import Notice
from gongzhi.registry import actions as registry
from gongzhi.registry.models import AreaNode, Person, UnitSet
from gongzhi.voting import actions
from gongzhi.voting import notices as vote_notices
from gongzhi.voting.models import Ballot, Vote

PROPERTY_VOTE = "选聘郑州航海物业服务有限公司为航海小区物业服务企业"
FUND_VOTE = "航海小区二院使用维修资金实施屋面防水维修"
RESIDENT_VOTE = "油漆厂家属院成立院落自管小组并推选楼院长"
PDF = b"%PDF-1.4\n% demo ballot scan\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _organiser(ctx):
    try:
        return ctx.user("community_worker")
    except Exception:  # noqa: BLE001 - core's demo users are missing: act as the system
        return None


def _cast_many(vote: Vote, worker, rng, *, share: float, yes: float, no: float, start, end, leave_out=None) -> int:
    """Ballots for `share` of the heads at times spread over [start, end), on the worker channels; nobody votes
    for the person `leave_out` (the demo resident votes for themself)."""
    entries = list(vote.roll.order_by("number"))
    if leave_out is not None:
        entries = [e for e in entries if e.voter_id != leave_out.pk]
    rng.shuffle(entries)
    entries = entries[: int(len(entries) * share)]
    span = (end - start) / max(1, len(entries) + 1)
    for k, entry in enumerate(entries):
        r = rng.random()
        choice = Ballot.Choice.YES if r < yes else Ballot.Choice.NO if r < yes + no else Ballot.Choice.ABSTAIN
        channel = rng.choice([Ballot.Channel.DOOR, Ballot.Channel.DOOR, Ballot.Channel.PHONE, Ballot.Channel.PAPER])
        attachment = None
        if channel == Ballot.Channel.PAPER:
            attachment = actions.attach_ballot_document(vote, actor=worker, data=PDF, name=f"ballot-{entry.number}.pdf")
        actions.cast_ballot(
            vote,
            entry,
            actor=worker,
            choice=choice,
            channel=channel,
            attachment=attachment,
            idempotency_key=f"demo-{vote.pk}-{entry.number}",
            now=start + span * (k + 1),
        )
    return len(entries)


def load(ctx) -> None:
    district = ctx.district
    if district is None:
        return
    estate = AreaNode.objects.filter(path__startswith=district.path, name="航海小区", level__code="estate").first()
    if estate is None:
        ctx.say("演示数据中没有航海小区，跳过表决 / no 航海小区 in the demo, skipping votes")
        return
    worker = _organiser(ctx)
    now = timezone.now()
    if not Vote.objects.filter(subject=PROPERTY_VOTE).exists():
        with transaction.atomic():
            unit_set = UnitSet.objects.filter(name="航海小区全体业主").first() or registry.create_unit_set(
                actor=None,
                name="航海小区全体业主",
                kind=UnitSet.Kind.COMPOUND,
                scope=estate,
                nodes=[estate],
                description="航海小区一院至四院全部专有部分（老旧小区改造后选聘物业）",
            )
            opens, closes = now - timedelta(days=20), now - timedelta(days=6)
            vote = actions.call_vote(
                actor=worker,
                subject=PROPERTY_VOTE,
                matter="property_company",
                unit_set=unit_set,
                opens_at=opens,
                closes_at=closes,
                description="航海小区完成老旧小区综合改造后，经业主大会筹备组提议、社区审议，拟选聘郑州航海物业服务有限公司"
                "提供物业服务（“收费、规范、有序”），物业费0.6元/平方米·月，合同期三年。",
            )
            actions.publish_roll(vote, actor=worker, now=now - timedelta(days=40))
            actions.open_vote(vote, actor=worker, now=opens + timedelta(hours=1))
            n = _cast_many(
                vote,
                worker,
                ctx.rng("voting.property"),
                share=0.86,
                yes=0.78,
                no=0.14,
                start=opens + timedelta(hours=2),
                end=closes - timedelta(hours=2),
            )
            actions.close_vote(vote, actor=worker, now=closes + timedelta(minutes=5))
            actions.certify_result(vote, actor=worker, now=closes + timedelta(days=1))
        ctx.say(f"表决“{PROPERTY_VOTE}”：{n}/{vote.total_heads} 人投票，{'通过' if vote.passed else '未通过'}")
    if not Vote.objects.filter(subject=FUND_VOTE).exists():
        court = AreaNode.objects.filter(parent=estate, name="航海小区二院").first()
        if court is not None:
            with transaction.atomic():
                opens = now - timedelta(days=2)
                vote = actions.call_vote(
                    actor=worker,
                    subject=FUND_VOTE,
                    matter="use_fund",
                    nodes=[court],
                    opens_at=opens,
                    closes_at=now + timedelta(days=12),
                    description="二院1号、2号楼屋面渗漏，拟使用专项维修资金约18.6万元实施防水维修，按面积分摊。",
                )
                actions.publish_roll(vote, actor=worker, now=now - timedelta(days=25))
                actions.open_vote(vote, actor=worker, now=opens + timedelta(hours=1))
                _cast_many(
                    vote,
                    worker,
                    ctx.rng("voting.fund"),
                    share=0.4,
                    yes=0.8,
                    no=0.1,
                    start=opens + timedelta(hours=2),
                    end=now - timedelta(minutes=5),
                )
            ctx.say(f"表决“{FUND_VOTE}”：投票中 / open, {vote.ballot_count}/{vote.total_heads}")
    if not Vote.objects.filter(subject=RESIDENT_VOTE).exists():
        _resident_vote(ctx, worker, now)
    _vote_notices(ctx)
    ctx.notes.append(
        "表决演示：/voting/ （社区工作者登录），结果页与回执查验 /voting/<id>/result/、/voting/<id>/receipt/"
    )


def _resident_vote(ctx, worker, now) -> None:
    """An open residents' meeting in the demo resident's 楼院, the resident on its roll and not yet voted."""
    RESIDENT_PHONE = synthetic.mobile(1)  # the demo resident's number (site.demo.RESIDENT_PHONE; site is above us)

    try:
        compound = ctx.compound("油漆厂家属院")
    except AreaNode.DoesNotExist:
        return
    resident = Person.objects.filter(phone=RESIDENT_PHONE).first()
    with transaction.atomic():
        opens = now - timedelta(days=1)
        vote = actions.call_vote(
            actor=worker,
            kind=Vote.Kind.RESIDENTS_MEETING,
            subject=RESIDENT_VOTE,
            nodes=[compound],
            opens_at=opens,
            closes_at=now + timedelta(days=14),
            description="油漆厂家属院无物业管理。经居民提议，拟成立由5名居民组成的院落自管小组，推选楼院长一名，"
            "负责院内环境卫生、车辆停放和公共设施报修的日常协调，任期两年。",
        )
        actions.publish_roll(vote, actor=worker, now=now - timedelta(days=20))
        actions.open_vote(vote, actor=worker, now=opens + timedelta(hours=1))
        _cast_many(
            vote,
            worker,
            ctx.rng("voting.resident"),
            share=0.3,
            yes=0.75,
            no=0.15,
            start=opens + timedelta(hours=2),
            end=now - timedelta(minutes=5),
            leave_out=resident,
        )
    on_roll = resident is not None and vote.roll.filter(voter=resident).exists()
    ctx.say(f"表决“{RESIDENT_VOTE}”：投票中 / open, {vote.ballot_count}/{vote.total_heads}")
    if on_roll:
        ctx.notes.append(
            f"演示居民（{RESIDENT_PHONE}）在“{RESIDENT_VOTE}”的表决名册上，可在“我的投票”投票并查验回执 / "
            "the demo resident is on this open vote's roll: vote at 我的投票 (/voting/mine/) and check the receipt"
        )


def _vote_notices(ctx) -> None:
    """The roll notice of every demo vote past its draft, and the result notice of every certified one."""
    for vote in Vote.objects.filter(path__startswith=ctx.district.path).exclude(status="draft")[:5]:
        if not Notice.objects.filter(vote_id=vote.pk, kind=Notice.Kind.VOTER_ROLL).exists():
            vote_notices.build_roll_notice(vote.pk, actor=None)
        if vote.status == "certified" and not Notice.objects.filter(vote_id=vote.pk, kind=Notice.Kind.RESULT).exists():
            vote_notices.build_result_notice(vote.pk, actor=None)
