"""The deliberation stage machine's pure rules (no Django import): the default procedure and exit guards.

Erqi's 一征三议两公开 (二七区一马路街道陇海大院社区, 2018): 逐户征求 residents' views; the compound party branch
proposes (提议); party-member representatives with the residents' committee review (审议); the residents'
assembly — or, for a Civil Code Art. 278 matter, the owners' vote — resolves (决议); the resolution is posted
and work starts only "待群众无异议后" (决议公开); implementation and its results are posted (实施/结果公开).

A stage opens features; leaving a stage is guarded by what its features imply, so a district that edits the
stages (data) gets the matching guards without code changes:

- "amend": a proposal text must exist;
- "meeting" (without "vote"): a meeting of the stage with minutes must have been held;
- "vote": the matter must be resolved — an assembly resolution recorded, or the linked owners' vote
  certified and passed (a failed vote blocks: return the matter to review, or withdraw it);
- a notice period: its last day must have passed and no objection may stand unanswered;
- "report": the work must have been accepted (验收).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# order, code, name, name_en, bodies, features, notice_days, notice_kind
DEFAULT_TEMPLATE_CODE = "yizheng-sanyi-lianggongkai"
DEFAULT_STAGES: list[tuple[int, str, str, str, list[str], list[str], int | None, str]] = [
    (1, "solicit", "一征：征求意见", "Solicit needs and opinions", ["residents_committee"], ["opinion"], None, ""),
    (
        2,
        "propose",
        "提议：党支部提议",
        "Proposal by the party branch",
        ["compound_party_branch"],
        ["amend", "meeting"],
        None,
        "",
    ),
    (
        3,
        "review",
        "审议：党员代表会和居委会审议",
        "Review by party representatives and the residents' committee",
        ["compound_party_branch", "residents_committee", "owners_committee", "property_company"],
        ["amend", "meeting"],
        None,
        "",
    ),
    (
        4,
        "resolve",
        "决议：居民大会或业主表决",
        "Resolution by the residents' assembly or an owners' vote",
        ["residents_assembly", "owners_assembly"],
        ["meeting", "vote"],
        None,
        "",
    ),
    (5, "resolution_notice", "决议公开", "Resolution notice", ["residents_committee"], ["object"], 7, "resolution"),
    (6, "implementation", "实施", "Implementation", ["residents_committee", "supervision_group"], ["report"], None, ""),
    (7, "results_notice", "结果公开", "Results notice", ["residents_committee"], ["object"], 7, "accounts"),
    (8, "closed", "已办结", "Closed", [], [], None, ""),
]


@dataclass(frozen=True)
class Blocker:
    code: str
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True)
class ExitFacts:
    """What is known about a matter in its current stage, gathered by selectors."""

    features: frozenset[str]
    today: date
    notice_days: int | None = None
    notice_ends_on: date | None = None
    open_objections: int = 0
    has_proposal: bool = False
    meetings_with_minutes: int = 0
    resolution: str = ""  # "", "assembly", "vote"
    vote_certified: bool = False
    vote_passed: bool | None = None
    has_acceptance: bool = False
    is_last: bool = False
    extra: dict = field(default_factory=dict)


def exit_blockers(f: ExitFacts) -> list[Blocker]:
    """Every reason the matter may not leave its current stage now (empty: it may)."""
    out: list[Blocker] = []
    if f.is_last:
        out.append(Blocker("closed", "议题已办结", "the matter is closed"))
        return out
    if "amend" in f.features and not f.has_proposal:
        out.append(Blocker("no_proposal", "尚未形成方案，请先填写方案内容", "no proposal has been written yet"))
    if "meeting" in f.features and "vote" not in f.features and f.meetings_with_minutes == 0:
        out.append(Blocker("no_meeting", "本阶段须召开会议并记录会议纪要", "this stage needs a meeting with minutes"))
    if "vote" in f.features:
        if f.resolution == "vote":
            if not f.vote_certified:
                out.append(
                    Blocker("vote_pending", "业主表决结果尚未确认", "the owners' vote result is not certified yet")
                )
            elif not f.vote_passed:
                out.append(
                    Blocker(
                        "vote_failed",
                        "业主表决未通过：请退回审议修改方案，或终止议题",
                        "the owners' vote did not pass: return the matter to review, or withdraw it",
                    )
                )
        elif f.resolution != "assembly":
            out.append(
                Blocker(
                    "unresolved",
                    "尚未作出决议（居民大会决议或业主表决）",
                    "no resolution yet (residents' assembly or owners' vote)",
                )
            )
    if f.notice_days:
        if f.notice_ends_on is None or f.today <= f.notice_ends_on:
            end = f.notice_ends_on.isoformat() if f.notice_ends_on else "?"
            out.append(
                Blocker(
                    "notice_running",
                    f"公示期至{end}止，期满后方可进入下一阶段",
                    f"the notice period runs until {end}; the matter may move on only after it ends",
                )
            )
        if f.open_objections:
            out.append(
                Blocker(
                    "objections_open",
                    f"尚有{f.open_objections}件异议未答复，答复后方可进入下一阶段",
                    f"{f.open_objections} objection(s) still unanswered; answer them first",
                )
            )
    if "report" in f.features and not f.has_acceptance:
        out.append(Blocker("not_accepted", "工程尚未验收", "the work has not been accepted yet"))
    return out


def objection_window_open(notice_days: int | None, notice_ends_on: date | None, today: date) -> bool:
    """Objections are lodged during the notice period: up to and including its last day."""
    return bool(notice_days) and notice_ends_on is not None and today <= notice_ends_on
