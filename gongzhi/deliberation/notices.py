"""The notices deliberation publishes by rule: a stage's resolution, accounts or general notice, and an owners'
or residents' assembly notice. Each part owns the notices it publishes (deliberation → notices, and → voting
for a vote's result tables); the notices app only stores, shows and prints them.

The notices are posted by the system (actor=None) inside the deliberation action that moves the matter: that
action checked the deliberation permission and writes its own audit entry; `published_by` names its actor.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.utils import timezone, translation

from gongzhi.notices.actions import issuer_for, publish_notice
from gongzhi.notices.builders import table
from gongzhi.notices.models import Notice
from gongzhi.voting.notices import result_tables


def _resolution_tables(matter) -> list[dict]:
    tables = []
    rows = [["议题", matter.title], ["决议方式", matter.get_resolution_display() or "—"]]
    if matter.resolved_on:
        rows.append(["决议日期", matter.resolved_on.isoformat()])
    tables.append(table("决议概况", ["项目", "内容"], rows))
    if matter.vote_id:
        tables += result_tables(matter.vote_id)
    return tables


def post_matter_notice(matter, *, kind: str, actor, posted_on: date | None = None) -> Notice:
    """Called by deliberation's actions on entering a notice stage (they checked the permission). The notice is
    the Chinese of the bulletin board whatever the language of the page that moved the matter."""
    with translation.override(settings.LANGUAGE_CODE):
        return _post_matter_notice(matter, kind=kind, actor=actor, posted_on=posted_on)


def _post_matter_notice(matter, *, kind: str, actor, posted_on: date | None) -> Notice:
    stage = matter.stage
    if kind == Notice.Kind.RESOLUTION:
        proposal = matter.proposals.order_by("-number").first()
        body = matter.resolution_text or (proposal.text if proposal else matter.summary) or matter.title
        body += (
            f"\n\n以上决议自张贴次日起公示{stage.notice_days}日。本议题范围内的居民、业主如有异议，"
            "请在公示期内通过网上、热线或到社区提出，并说明理由。公示期满且无未答复的异议后方可实施。"
        )
        title = f"关于“{matter.title}”的决议公示"
        tables = _resolution_tables(matter)
    elif kind == Notice.Kind.ACCOUNTS:
        title = f"关于“{matter.title}”的实施结果及收支公示"
        body, tables = _accounts_body(matter)
    else:
        title = f"关于“{matter.title}”的公示"
        body, tables = matter.summary or matter.title, []
    return publish_notice(
        actor=None,  # posted by rule on entering the stage; the deliberation action checked and audited
        published_by=actor,
        kind=kind,
        title=title,
        body=body,
        node=matter.scope,
        days=stage.notice_days,
        tables=tables,
        matter=matter,
        issuer=issuer_for(matter.scope, _issuer_kinds(stage)),
        posted_on=posted_on or matter.notice_posted_on,
    )


def _issuer_kinds(stage) -> tuple[str, ...]:
    kinds = tuple(b for b in (stage.bodies or []) if not b.endswith("_assembly"))
    return kinds or ("residents_committee",)


def _accounts_body(matter) -> tuple[str, list[dict]]:
    lines = list(matter.accounts.order_by("on", "id"))
    income = sum((x.amount for x in lines if x.direction == "income"), Decimal("0"))
    expense = sum((x.amount for x in lines if x.direction == "expense"), Decimal("0"))
    reports = list(matter.reports.order_by("id"))
    acceptance = [r for r in reports if r.kind == "acceptance"]
    body = f"“{matter.title}”已实施完毕，现将实施结果及收支情况公示如下。"
    if acceptance:
        body += "\n\n验收意见：" + acceptance[-1].text
    body += "\n\n如有疑问或异议，请在公示期内向社区提出。"
    rows = [[x.on.isoformat(), x.get_direction_display(), x.item, x.source or "—", f"{x.amount:,.2f}"] for x in lines]
    tables = [
        table("收支明细（元）", ["日期", "收支", "项目", "来源/去向", "金额"], rows),
        table(
            "合计（元）",
            ["收入合计", "支出合计", "结余"],
            [[f"{income:,.2f}", f"{expense:,.2f}", f"{income - expense:,.2f}"]],
        ),
    ]
    progress = [
        [
            r.created_at.astimezone(timezone.get_current_timezone()).date().isoformat(),
            r.get_kind_display(),
            f"{r.percent}%" if r.percent is not None else "—",
            r.text[:200],
        ]
        for r in reports
    ]
    if progress:
        tables.append(table("实施过程", ["日期", "类型", "完成比例", "内容"], progress))
    return body, tables


def post_assembly_notice(meeting, *, actor, posted_on: date | None = None) -> Notice:
    """The owners' assembly notice, posted with the meeting; refused if the meeting is under 15 days away."""
    matter = meeting.matter
    body = (
        f"定于{meeting.held_on.isoformat()}召开业主大会会议{('，地点：' + meeting.place) if meeting.place else ''}。"
        f"\n\n会议议题：{matter.title}\n\n议程：\n{meeting.agenda}\n\n"
        "根据《物业管理条例》第十四条，特于会议召开15日以前通知全体业主。业主可在确认身份后通过书面、电话、短信等方式表决。"
    )
    return publish_notice(
        actor=None,  # posted by rule when the meeting is scheduled; the deliberation action checked and audited
        published_by=actor,
        kind=Notice.Kind.ASSEMBLY,
        title=f"关于召开业主大会会议的公告（{matter.title}）",
        body=body,
        node=matter.scope,
        matter=matter,
        meeting_on=meeting.held_on,
        posted_on=posted_on,
        issuer=issuer_for(matter.scope, ("owners_committee", "residents_committee")),
    )
