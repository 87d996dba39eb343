"""The three rates of 接诉即办 (北京市接诉即办工作条例 Art. 32 names them, gives no formula) and 办结率 apart.

No Django import: the board computes the counts in one query and hands them here. The definitions are shown
next to every figure; they are the platform's proposal, not an official formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Rate:
    code: str
    name: str
    name_en: str
    definition: str
    definition_en: str
    numerator: int
    denominator: int

    @property
    def value(self) -> Fraction | None:
        return Fraction(self.numerator, self.denominator) if self.denominator else None

    @property
    def percent(self) -> str:
        """One decimal, rounded half up on the exact fraction; "—" with no denominator."""
        if not self.denominator:
            return "—"
        tenths = (Fraction(1000 * self.numerator, self.denominator) + Fraction(1, 2)).__floor__()
        return f"{tenths // 10}.{tenths % 10}%"


DEFINITIONS = {
    "response": (
        "响应率",
        "Response rate",
        "在响应时限内接单并联系诉求人的工单数 ÷ 已派单的工单数",
        "orders taken and the requester contacted within the response limit ÷ orders dispatched",
    ),
    "resolution": (
        "解决率",
        "Resolution rate",
        "回访时诉求人确认已解决的工单数 ÷ 有回访结果的工单数",
        "orders the requester confirmed solved at the follow-up call ÷ orders with a follow-up result",
    ),
    "satisfaction": (
        "满意率",
        "Satisfaction rate",
        "评价为满意或基本满意的工单数 ÷ 已评价的工单数",
        "orders rated satisfied or fairly satisfied ÷ orders rated",
    ),
    "closure": (
        "办结率",
        "Closure rate",
        "已办结的工单数 ÷ 已派单的工单数（另列，不代替解决率）",
        "orders completed ÷ orders dispatched (shown apart: closing is not solving)",
    ),
}


@dataclass(frozen=True)
class Counts:
    dispatched: int = 0
    responded_in_time: int = 0
    followed_up: int = 0
    solved: int = 0
    rated: int = 0
    satisfied: int = 0
    completed: int = 0


def rates(c: Counts) -> list[Rate]:
    pairs = {
        "response": (c.responded_in_time, c.dispatched),
        "resolution": (c.solved, c.followed_up),
        "satisfaction": (c.satisfied, c.rated),
        "closure": (c.completed, c.dispatched),
    }
    out = []
    for code, (num, den) in pairs.items():
        if num < 0 or den < 0 or num > den:
            raise ValueError(f"{code}: {num}/{den} is not a rate")
        name, name_en, definition, definition_en = DEFINITIONS[code]
        out.append(Rate(code, name, name_en, definition, definition_en, num, den))
    return out
