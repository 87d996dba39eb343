"""The work order's life, as data (no Django import): 受理 → 派单 → 接单 → 办理 → 办结 → 回访 → 评价 → 归档.

Side moves that keep the state: 派单异议 (an objection, decided by the dispatcher), 延期 (an extension with a
reason), 催办/督办 (chasing, escalating up the area tree), 联系诉求人 (the taker's first contact). 退回重办 sends a
followed-up or rated order back to 办理; a duplicate is merged into another order (合并) before anyone takes it.

`TRANSITIONS` is the single table the actions, the permissions and the tests read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum


class State(StrEnum):
    ACCEPTED = "accepted"  # 受理
    DISPATCHED = "dispatched"  # 派单
    TAKEN = "taken"  # 接单
    IN_PROGRESS = "in_progress"  # 办理
    COMPLETED = "completed"  # 办结
    FOLLOWED_UP = "followed_up"  # 回访
    RATED = "rated"  # 评价
    ARCHIVED = "archived"  # 归档
    MERGED = "merged"  # 重复件已合并


S = State
HANDLING = frozenset({S.TAKEN, S.IN_PROGRESS})
OPEN = frozenset({S.ACCEPTED, S.DISPATCHED, S.TAKEN, S.IN_PROGRESS})  # Open311 "open"; the rest is "closed"
LIVE = OPEN  # the time limit runs; 催办/督办 apply


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[State]
    target: State | None  # None: the state stays (a side move)
    label: str  # Chinese label, for the timeline


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition("dispatch", frozenset({S.ACCEPTED}), S.DISPATCHED, "派单"),
        Transition("object", frozenset({S.DISPATCHED}), None, "派单异议"),
        Transition("uphold_objection", frozenset({S.DISPATCHED}), S.ACCEPTED, "异议成立，重新派单"),
        Transition("reject_objection", frozenset({S.DISPATCHED}), None, "异议不成立"),
        Transition("take", frozenset({S.DISPATCHED}), S.TAKEN, "接单"),
        Transition("contact", HANDLING, None, "联系诉求人"),
        Transition("start", frozenset({S.TAKEN}), S.IN_PROGRESS, "开始办理"),
        Transition("extend", HANDLING, None, "延期"),
        Transition("complete", frozenset({S.IN_PROGRESS}), S.COMPLETED, "办结"),
        Transition("follow_up", frozenset({S.COMPLETED}), S.FOLLOWED_UP, "回访"),
        # Rated by the SMS link before the call: the call still records whether it is solved.
        Transition("follow_up_rated", frozenset({S.RATED}), None, "回访"),
        Transition("rate", frozenset({S.COMPLETED, S.FOLLOWED_UP}), S.RATED, "评价"),
        Transition("return", frozenset({S.FOLLOWED_UP, S.RATED}), S.IN_PROGRESS, "退回重办"),
        Transition("archive", frozenset({S.FOLLOWED_UP, S.RATED}), S.ARCHIVED, "归档"),
        Transition("escalate", frozenset({S.DISPATCHED, S.TAKEN, S.IN_PROGRESS}), None, "催办/督办"),
        Transition("merge", frozenset({S.ACCEPTED, S.DISPATCHED}), S.MERGED, "合并重复件"),
    ]
}


# While an objection awaits its decision only these moves are open (taking it, or objecting twice, are not).
WHILE_OBJECTED = frozenset({"uphold_objection", "reject_objection", "escalate", "merge"})


class TransitionError(ValueError):
    """A move the order's state does not allow; .zh and .en say why."""

    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def allowed(name: str, state: str, *, objection_pending: bool = False) -> bool:
    """May `name` happen to an order in `state`? A pending objection leaves only WHILE_OBJECTED open."""
    t = TRANSITIONS[name]
    if State(state) not in t.sources:
        return False
    if objection_pending and (name not in WHILE_OBJECTED or State(state) is not S.DISPATCHED):
        return False  # an objection only ever stands against a dispatched order
    if name in {"uphold_objection", "reject_objection"} and not objection_pending:
        return False
    return True


def advance(name: str, state: str, *, objection_pending: bool = False) -> State:
    """The state after `name`, or TransitionError."""
    if not allowed(name, state, objection_pending=objection_pending):
        t = TRANSITIONS[name]
        if objection_pending and name in {"take", "object"}:
            raise TransitionError("派单异议待裁定，暂不能办理", "a dispatch objection awaits a decision")
        raise TransitionError(
            f"当前状态（{STATE_LABELS[State(state)]}）不能{t.label}",
            f"an order that is {State(state).value.replace('_', ' ')} cannot be moved by '{name}'",
        )
    target = TRANSITIONS[name].target
    return State(state) if target is None else target


STATE_LABELS = {
    S.ACCEPTED: "受理",
    S.DISPATCHED: "派单",
    S.TAKEN: "接单",
    S.IN_PROGRESS: "办理",
    S.COMPLETED: "办结",
    S.FOLLOWED_UP: "回访",
    S.RATED: "评价",
    S.ARCHIVED: "归档",
    S.MERGED: "已合并",
}


def open311_status(state: str) -> str:
    return "open" if State(state) in OPEN else "closed"


# --- time limits ---------------------------------------------------------------------------------------------
class LimitUnit(StrEnum):
    HOURS = "hours"  # round the clock (emergencies: 2 h; utilities: 24 h)
    WORKDAYS = "workdays"  # working days by the holiday / 调休 calendar, ending at the end of the last one
    DAYS = "days"  # calendar days; a period ending on a rest day runs to the next working day (Civil Code 203)


END_OF_DAY = time(23, 59, 59)


def due_at(start: datetime, value: int, unit: str, calendar) -> datetime:
    """When a limit of `value` `unit`s counted from `start` (an aware datetime) ends.

    Working days: the day of `start` is not counted (Civil Code Art. 201), the limit ends at the end of the
    `value`-th working day after it. Calendar days: likewise counted from the next day, and moved to the next
    working day when the last day is a rest day (Art. 203). `calendar` is a `gongzhi.core.workdays.Calendar`.
    """
    if value < 1:
        raise ValueError("a time limit is at least 1")
    unit = LimitUnit(unit)
    if unit is LimitUnit.HOURS:
        return start + timedelta(hours=value)
    if unit is LimitUnit.WORKDAYS:
        last: date = calendar.add_workdays(start.date(), value)
    else:
        last = calendar.period_end(start.date(), value)
    return datetime.combine(last, END_OF_DAY, tzinfo=start.tzinfo)


def extended_due(due: datetime, value: int, unit: str, calendar) -> datetime:
    """A limit extended by `value` `unit`s from its current end."""
    if unit == LimitUnit.HOURS:
        return due + timedelta(hours=value)
    return due_at(due, value, unit, calendar)


def escalation_due(now: datetime, due: datetime, started: datetime, level: int) -> int:
    """The escalation level an open order should have at `now`: 1 催办 once 80% of its time is used, 2 督办 once
    it is late, 3 (district 督办) once it is late by as long again as its whole limit. Never lowers `level`."""
    total = (due - started).total_seconds()
    used = (now - started).total_seconds()
    wanted = 0
    if total > 0 and used >= 0.8 * total:
        wanted = 1
    if now > due:
        wanted = 2
    if total > 0 and (now - due).total_seconds() >= total:
        wanted = 3
    return max(level, wanted)


ESCALATION_LABELS = {1: "催办", 2: "督办", 3: "区级督办"}
# Which level of the area tree each escalation goes to (the order's own community, street, district).
ESCALATION_LEVEL_CODES = {1: "community", 2: "subdistrict", 3: "district"}
