"""The notices the voting app publishes: the voter-roll notice (表决名册公示) and the result notice (表决结果公示).

Each part owns the notices it publishes: voting builds these with the notices app's actions (voting → notices,
never the other way). The roll's rows are read when a notice is shown, through the table source this module
registers with the notices app (`voter_roll`), so notices never imports voting.
"""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext_noop

from gongzhi.notices.actions import NoticeError, publish_notice
from gongzhi.notices.builders import table
from gongzhi.notices.models import Notice
from gongzhi.voting.models import Vote
from gongzhi.voting.selectors import result_summary, result_view, roll_page


def _vote(vote_id: int) -> Vote:
    return Vote.objects.select_related("scope").get(pk=vote_id)


def roll_rows(vote_id: int, *, after: int = 0, size: int = 200) -> list[list[str]]:
    """One page of the frozen voter roll (voting.selectors.roll_page), by head number: number, units, area,
    masked name — never who voted or how."""
    rows, _next = roll_page(Vote(pk=vote_id), after=after, size=size)
    return [
        [
            str(r["number"]),
            r["units_label"],
            f"{r['area']:,.2f}",
            DEVELOPER if r["developer"] else r["name_masked"],
        ]
        for r in rows
    ]


ROLL_COLUMNS = ["序号", "房屋", "专有部分面积（㎡）", "业主（脱敏）"]
DEVELOPER = gettext_noop("开发建设单位")  # the roll's name for the developer's unsold units (translated when shown)


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
        table(
            "名册汇总",
            ["专有部分数", "业主人数", "总面积（㎡）"],
            [[vote.total_units, vote.total_heads, f"{vote.total_area:,.2f}"]],
        ),
        {"title": "表决名册", "columns": ROLL_COLUMNS, "source": "voter_roll", "rows": [], "note": ""},
    ]
    return publish_notice(
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


def result_tables(vote_id: int) -> list[dict]:
    vote = _vote(vote_id)
    summary = result_summary(vote)
    rows = [
        [c["label"], str(c["ratio"]), str(c["threshold"]), "是" if c["met"] else "否"] for c in summary["conditions"]
    ]
    outcome = "通过" if summary["passed"] else "未通过"
    tables = [
        table(
            "表决结果",
            ["事项", "结果"],
            [["表决事项", vote.subject], ["结果", outcome], ["适用规则", summary["rule"] or "—"]],
        )
    ]
    tables.append(
        table(
            "计算依据（四项比例）",
            ["条件", "比例", "要求", "是否满足"],
            rows,
            note="；".join(summary.get("reasons") or []),
        )
    )
    return tables


def result_glossary(vote_id: int | None) -> dict[str, str]:
    """The English of the words result_tables wrote from the tally (the rule, each condition, the reasons), for
    a notice page in English (notices.selectors.page_tables); the notice itself stays Chinese."""
    vote = Vote.objects.filter(pk=vote_id).first() if vote_id else None
    view = result_view(vote) if vote is not None else None
    if view is None:
        return {}
    words = {view["rule_zh"]: view["rule_en"]} if view["rule_zh"] else {}
    words.update({c.label_zh: c.label_en for c in view["conditions"]})
    if view["reasons_zh"]:
        words["；".join(view["reasons_zh"])] = "; ".join(view["reasons_en"])
    return words


def build_result_notice(vote_id: int, *, actor, posted_on: date | None = None, days: int = 7) -> Notice:
    """表决结果公示: the outcome, the rule that decided it and the four ratios — no one's choice."""
    vote = _vote(vote_id)
    if vote.status != "certified":
        raise NoticeError("表决结果尚未确认，不能公示", "the vote result is not certified yet", "vote")
    body = (
        f"“{vote.subject}”表决已结束，结果经确认，现予公示。依据《民法典》第二百七十八条，"
        "下表列出决定结果的规则及参与表决、同意的专有部分面积和人数比例，任何人均可据此复核。"
        "业主可依法查阅表决记录（《郑州市物业管理条例》第二十二条）。"
    )
    return publish_notice(
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
