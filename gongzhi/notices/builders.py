"""Notice builders: turn a matter's resolution or accounts, a meeting, a vote's roll or result into a notice.

Tables are stored as {"title", "columns", "rows", "note"}; the voter roll is the exception — its rows are read
from the vote's frozen roll when the page or PDF is drawn ({"source": "voter_roll"}), so a 10,000-unit roll
is not copied into the notice. Only masked names ever appear.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from gongzhi.notices import actions
from gongzhi.notices.models import Notice

# The fixed words of the stored tables, marked for the catalogue: a notice page translates them at display time
# ({% translate %} of the stored text), while the stored notice and its PDF keep the Chinese of the bulletin board.
HEADINGS = (
    N_("决议概况"), N_("项目"), N_("内容"), N_("议题"), N_("决议方式"), N_("决议日期"),
    N_("收支明细（元）"), N_("日期"), N_("收支"), N_("来源/去向"), N_("金额"),
    N_("合计（元）"), N_("收入合计"), N_("支出合计"), N_("结余"),
    N_("实施过程"), N_("类型"), N_("完成比例"),
    N_("名册汇总"), N_("专有部分数"), N_("业主人数"), N_("总面积（㎡）"),
    N_("表决名册"), N_("序号"), N_("房屋"), N_("专有部分面积（㎡）"), N_("业主（脱敏）"),
    N_("表决结果"), N_("事项"), N_("结果"), N_("表决事项"), N_("适用规则"), N_("通过"), N_("未通过"),
    N_("计算依据（四项比例）"), N_("条件"), N_("比例"), N_("要求"), N_("是否满足"), N_("是"), N_("否"),
)  # fmt: skip


def _table(title: str, columns: list[str], rows: list[list], note: str = "") -> dict:
    return {"title": title, "columns": columns, "rows": [[str(c) for c in r] for r in rows], "note": note}


# ------------------------------------------------------------------------------------------ deliberation


def _resolution_tables(matter) -> list[dict]:
    tables = []
    rows = [["议题", matter.title], ["决议方式", matter.get_resolution_display() or "—"]]
    if matter.resolved_on:
        rows.append(["决议日期", matter.resolved_on.isoformat()])
    tables.append(_table("决议概况", ["项目", "内容"], rows))
    if matter.vote_id:
        tables += result_tables(matter.vote_id)
    return tables


def post_matter_notice(matter, *, kind: str, actor, posted_on: date | None = None) -> Notice:
    """Called by deliberation's actions on entering a notice stage (they checked the permission)."""
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
    return actions.publish_notice(
        actor=actor,
        kind=kind,
        title=title,
        body=body,
        node=matter.scope,
        days=stage.notice_days,
        tables=tables,
        matter=matter,
        issuer=actions.issuer_for(matter.scope, _issuer_kinds(stage)),
        posted_on=posted_on or matter.notice_posted_on,
        check=False,
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
        _table("收支明细（元）", ["日期", "收支", "项目", "来源/去向", "金额"], rows),
        _table(
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
        tables.append(_table("实施过程", ["日期", "类型", "完成比例", "内容"], progress))
    return body, tables


def post_assembly_notice(meeting, *, actor, posted_on: date | None = None) -> Notice:
    """The owners' assembly notice, posted with the meeting; refused if the meeting is under 15 days away."""
    matter = meeting.matter
    body = (
        f"定于{meeting.held_on.isoformat()}召开业主大会会议{('，地点：' + meeting.place) if meeting.place else ''}。"
        f"\n\n会议议题：{matter.title}\n\n议程：\n{meeting.agenda}\n\n"
        "根据《物业管理条例》第十四条，特于会议召开15日以前通知全体业主。业主可在确认身份后通过书面、电话、短信等方式表决。"
    )
    return actions.publish_notice(
        actor=actor,
        kind=Notice.Kind.ASSEMBLY,
        title=f"关于召开业主大会会议的公告（{matter.title}）",
        body=body,
        node=matter.scope,
        matter=matter,
        meeting_on=meeting.held_on,
        posted_on=posted_on,
        check=False,
        issuer=actions.issuer_for(matter.scope, ("owners_committee", "residents_committee")),
    )


# ------------------------------------------------------------------------------------------ voting


def _vote(vote_id: int):
    from gongzhi.voting.models import Vote

    return Vote.objects.select_related("scope").get(pk=vote_id)


def roll_rows(vote_id: int, *, after: int = 0, size: int = 200) -> list[list[str]]:
    """One page of the frozen voter roll (voting.selectors.roll_page), by head number: number, units, area,
    masked name — never who voted or how."""
    from gongzhi.voting.models import Vote
    from gongzhi.voting.selectors import roll_page

    rows, _next = roll_page(Vote(pk=vote_id), after=after, size=size)
    return [
        [
            str(r["number"]),
            r["units_label"],
            f"{r['area']:,.2f}",
            "开发建设单位" if r["developer"] else r["name_masked"],
        ]
        for r in rows
    ]


ROLL_COLUMNS = ["序号", "房屋", "专有部分面积（㎡）", "业主（脱敏）"]


def build_roll_notice(vote_id: int, *, actor, posted_on: date | None = None, days: int | None = None) -> Notice:
    """表决名册公示: the units, their areas and the headcount (Art. 9 merge), with masked names."""
    vote = _vote(vote_id)
    body = (
        f"“{vote.subject}”表决名册现予公示。名册按《民法典》第二百七十八条及最高人民法院司法解释第八条、第九条确定："
        "专有部分面积按不动产登记、测绘、合同面积的顺序认定；一个专有部分按一人计算，建设单位未出售和已售未交付的部分"
        "合并按一人计算，同一买受人拥有多个专有部分的按一人计算。"
        f"\n\n共{vote.total_units}户（专有部分），计{vote.total_heads}人，专有部分总面积{vote.total_area:,.2f}平方米。"
        "\n\n如对名册有异议，请在公示期内向社区提出。"
    )
    tables = [
        _table(
            "名册汇总",
            ["专有部分数", "业主人数", "总面积（㎡）"],
            [[vote.total_units, vote.total_heads, f"{vote.total_area:,.2f}"]],
        ),
        {"title": "表决名册", "columns": ROLL_COLUMNS, "source": "voter_roll", "rows": [], "note": ""},
    ]
    return actions.publish_notice(
        actor=actor,
        kind=Notice.Kind.VOTER_ROLL,
        title=f"“{vote.subject}”表决名册公示",
        body=body,
        node=vote.scope,
        days=days or vote.notice_days or None,
        tables=tables,
        vote_id=vote.pk,
        posted_on=posted_on,
    )


def result_summary(vote) -> dict:
    """The deciding rule and the ratios of a closed vote, from the voting app (its selector when it has one)."""
    try:
        from gongzhi.voting import selectors as voting_selectors
    except ImportError:
        voting_selectors = None
    if voting_selectors is not None and hasattr(voting_selectors, "result_summary"):
        return voting_selectors.result_summary(vote)
    result = vote.result or {}
    conditions = []
    for c in result.get("conditions", []) or []:
        if isinstance(c, dict):
            conditions.append(
                {
                    "label": c.get("label_zh") or c.get("label") or c.get("key", ""),
                    "ratio": c.get("formatted_ratio") or c.get("ratio_display") or c.get("ratio") or "—",
                    "threshold": c.get("threshold_display") or c.get("threshold") or "",
                    "met": c.get("met"),
                }
            )
    return {
        "rule": result.get("rule_description_zh") or result.get("rule_zh") or result.get("rule") or "",
        "passed": vote.passed,
        "conditions": conditions,
        "reasons": result.get("reasons_zh") or [],
    }


def result_tables(vote_id: int) -> list[dict]:
    vote = _vote(vote_id)
    summary = result_summary(vote)
    rows = [
        [c["label"], str(c["ratio"]), str(c["threshold"]), "是" if c["met"] else "否"] for c in summary["conditions"]
    ]
    outcome = "通过" if summary["passed"] else "未通过"
    tables = [
        _table(
            "表决结果",
            ["事项", "结果"],
            [["表决事项", vote.subject], ["结果", outcome], ["适用规则", summary["rule"] or "—"]],
        )
    ]
    tables.append(
        _table(
            "计算依据（四项比例）",
            ["条件", "比例", "要求", "是否满足"],
            rows,
            note="；".join(summary.get("reasons") or []),
        )
    )
    return tables


def build_result_notice(vote_id: int, *, actor, posted_on: date | None = None, days: int = 7) -> Notice:
    """表决结果公示: the outcome, the rule that decided it and the four ratios — no one's choice."""
    vote = _vote(vote_id)
    if vote.status != "certified":
        raise actions.NoticeError("表决结果尚未确认，不能公示", "the vote result is not certified yet", "vote")
    body = (
        f"“{vote.subject}”表决已结束，结果经确认，现予公示。依据《民法典》第二百七十八条，"
        "下表列出决定结果的规则及参与表决、同意的专有部分面积和人数比例，任何人均可据此复核。"
        "业主可依法查阅表决记录（《郑州市物业管理条例》第二十二条）。"
    )
    return actions.publish_notice(
        actor=actor,
        kind=Notice.Kind.RESULT,
        title=f"“{vote.subject}”表决结果公示",
        body=body,
        node=vote.scope,
        days=days,
        tables=result_tables(vote_id),
        vote_id=vote.pk,
        posted_on=posted_on,
    )
