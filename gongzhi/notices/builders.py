"""Notice tables. The parts build their own notices (deliberation/notices.py, voting/notices.py) with these.

Tables are stored as {"title", "columns", "rows", "note"}; the voter roll is the exception — its rows are read
from the vote's frozen roll when the page or PDF is drawn ({"source": "voter_roll"}), so a 10,000-unit roll
is not copied into the notice. Only masked names ever appear.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop as N_

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


def table(title: str, columns: list[str], rows: list[list], note: str = "") -> dict:
    return {"title": title, "columns": columns, "rows": [[str(c) for c in r] for r in rows], "note": note}
