"""Notice tables. The parts build their own notices (deliberation/notices.py, voting/notices.py) with these.

Tables are stored as {"title", "columns", "rows", "note"}; the voter roll is the exception — its rows are read
from the vote's frozen roll when the page or PDF is drawn ({"source": "voter_roll"}), so a 10,000-unit roll
is not copied into the notice. Only masked names ever appear.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

# The fixed words of the stored tables, marked for the catalogue: a notice page translates them at display time
# ({% translate %} of the stored text), while the stored notice and its PDF keep the Chinese of the bulletin board.
HEADINGS = (
    gettext_noop("决议概况"), gettext_noop("项目"), gettext_noop("内容"), gettext_noop("议题"), gettext_noop("决议方式"), gettext_noop("决议日期"),
    gettext_noop("收支明细（元）"), gettext_noop("日期"), gettext_noop("收支"), gettext_noop("来源/去向"), gettext_noop("金额"),
    gettext_noop("合计（元）"), gettext_noop("收入合计"), gettext_noop("支出合计"), gettext_noop("结余"),
    gettext_noop("实施过程"), gettext_noop("类型"), gettext_noop("完成比例"),
    gettext_noop("名册汇总"), gettext_noop("专有部分数"), gettext_noop("业主人数"), gettext_noop("总面积（㎡）"),
    gettext_noop("表决名册"), gettext_noop("序号"), gettext_noop("房屋"), gettext_noop("专有部分面积（㎡）"), gettext_noop("业主（脱敏）"),
    gettext_noop("表决结果"), gettext_noop("事项"), gettext_noop("结果"), gettext_noop("表决事项"), gettext_noop("适用规则"), gettext_noop("通过"), gettext_noop("未通过"),
    gettext_noop("计算依据（四项比例）"), gettext_noop("条件"), gettext_noop("比例"), gettext_noop("要求"), gettext_noop("是否满足"), gettext_noop("是"), gettext_noop("否"),
)  # fmt: skip


def table(title: str, columns: list[str], rows: list[list], note: str = "") -> dict:
    return {"title": title, "columns": columns, "rows": [[str(c) for c in r] for r in rows], "note": note}
