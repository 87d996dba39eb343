"""The pure exit guards of the stage machine."""

from datetime import date

from gongzhi.deliberation.process import DEFAULT_STAGES, ExitFacts, exit_blockers, objection_window_open

TODAY = date(2026, 10, 9)


def codes(**kw):
    return [b.code for b in exit_blockers(ExitFacts(today=TODAY, **kw))]


def test_default_stages_are_the_erqi_procedure_in_order():
    assert [s[1] for s in DEFAULT_STAGES] == [
        "solicit",
        "propose",
        "review",
        "resolve",
        "resolution_notice",
        "implementation",
        "results_notice",
        "closed",
    ]
    features = {s[1]: set(s[5]) for s in DEFAULT_STAGES}
    assert features["solicit"] == {"opinion"}
    assert "object" in features["resolution_notice"] and "vote" in features["resolve"]
    assert dict((s[1], s[6]) for s in DEFAULT_STAGES)["resolution_notice"] == 7


def test_solicit_may_always_move_on():
    assert codes(features=frozenset({"opinion"})) == []


def test_proposal_and_meeting_needed():
    assert codes(features=frozenset({"amend", "meeting"})) == ["no_proposal", "no_meeting"]
    assert codes(features=frozenset({"amend", "meeting"}), has_proposal=True, meetings_with_minutes=1) == []


def test_resolution_needed_and_a_failed_vote_blocks():
    f = frozenset({"meeting", "vote"})
    assert codes(features=f) == ["unresolved"]
    assert codes(features=f, resolution="assembly") == []
    assert codes(features=f, resolution="vote") == ["vote_pending"]
    assert codes(features=f, resolution="vote", vote_certified=True, vote_passed=False) == ["vote_failed"]
    assert codes(features=f, resolution="vote", vote_certified=True, vote_passed=True) == []


def test_notice_period_and_objections_block():
    f = frozenset({"object"})
    end = date(2026, 10, 8)
    blockers = exit_blockers(ExitFacts(features=f, today=end, notice_days=7, notice_ends_on=end))
    assert [b.code for b in blockers] == ["notice_running"]
    assert "2026-10-08" in blockers[0].zh
    assert codes(features=f, notice_days=7, notice_ends_on=end) == []  # the day after the last day
    assert codes(features=f, notice_days=7, notice_ends_on=end, open_objections=2) == ["objections_open"]


def test_acceptance_needed_to_leave_implementation():
    assert codes(features=frozenset({"report"})) == ["not_accepted"]
    assert codes(features=frozenset({"report"}), has_acceptance=True) == []


def test_last_stage_cannot_be_left():
    assert codes(features=frozenset(), is_last=True) == ["closed"]


def test_objection_window_includes_the_last_day():
    end = date(2026, 10, 8)
    assert objection_window_open(7, end, end)
    assert not objection_window_open(7, end, date(2026, 10, 9))
    assert not objection_window_open(None, end, end)
