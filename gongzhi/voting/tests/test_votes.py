"""Calling a vote, freezing its roll (SPC Interpretation Arts. 8–9), its timeline and its stored result."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from gongzhi.core.audit import verify
from gongzhi.registry import actions as registry
from gongzhi.registry.models import Person
from gongzhi.voting import actions
from gongzhi.voting.actions import VoteError, VotingClosed
from gongzhi.voting.models import Ballot, Vote
from gongzhi.voting.receipts import verify_ballot_log
from gongzhi.voting.selectors import data_file, result_view, tally_vote, turnout, votes_for_matter
from testkit.voting import PDF, TOTAL_AREA, after_close, build_owners_compound, open_vote_now

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def compound(mini):
    return build_owners_compound(mini)


@pytest.fixture
def organiser(persona):
    return persona("community_worker")


def call(compound, organiser, **kw):
    now = timezone.now()
    kw.setdefault("matter", "property_company")
    return actions.call_vote(
        actor=organiser,
        subject=kw.pop("subject", "选聘物业服务企业"),
        unit_set=compound.unit_set,
        opens_at=kw.pop("opens_at", now + timedelta(days=40)),
        closes_at=kw.pop("closes_at", now + timedelta(days=47)),
        **kw,
    )


@pytest.mark.django_db
def test_roll_is_frozen_with_heads_merged_per_spc_article_9(compound, organiser):
    vote = call(compound, organiser)
    assert (vote.total_heads, vote.total_units, vote.total_area) == (6, 8, TOTAL_AREA)
    roll = {e.voter_id: e for e in vote.roll.all()}
    assert set(roll) == {
        compound.zhang.pk,
        compound.li.pk,
        compound.developer.pk,
        compound.zhao.pk,
        compound.qian.pk,
        compound.sun.pk,
    }
    zhang = roll[compound.zhang.pk]
    assert (zhang.unit_count, zhang.area, zhang.name_masked) == (2, Decimal("126.00"), "张**")
    assert "101" in zhang.units_label and "102" in zhang.units_label
    dev = roll[compound.developer.pk]
    assert dev.developer and dev.unit_count == 2 and dev.area == Decimal("132.00")
    assert dev.name_masked == "郑州航海置业有限公司"  # a legal person's name is not personal data
    co = roll[compound.li.pk]  # co-owned unit 201: one head, voted by the designated 李桂兰
    assert co.unit_count == 1 and co.area == Decimal("64.50")
    assert compound.wang.pk not in roll
    # Area source priority (Art. 8): registered, else surveyed, else contract.
    sources = dict(vote.roll_units.values_list("number", "area_source"))
    assert sources["401"] == "surveyed" and sources["402"] == "contract" and sources["101"] == "registered"
    areas = dict(vote.roll_units.values_list("number", "area"))
    assert areas["401"] == Decimal("70.25") and areas["402"] == Decimal("71.10")
    # Tokens are opaque and unique per vote.
    tokens = list(vote.roll.values_list("token", flat=True)) + list(vote.roll_units.values_list("token", flat=True))
    assert len(set(tokens)) == len(tokens) == 14


@pytest.mark.django_db
def test_roll_stays_frozen_when_the_registry_changes(compound, organiser):
    vote = call(compound, organiser)
    registry.add_ownership(actor=None, unit=compound.units[7], person=compound.zhang)  # 402 now co-owned
    registry.create_unit(actor=None, node=compound.mini.entrance, number="501", area_registered=Decimal("80"))
    vote.refresh_from_db()
    assert (vote.total_heads, vote.total_units) == (6, 8)
    assert vote.roll.count() == 6


@pytest.mark.django_db
def test_co_owned_unit_without_designated_voter_is_refused_by_name(compound, organiser):
    registry.add_ownership(
        actor=None, unit=compound.units[5], person=compound.qian
    )  # 302: 赵 and 钱, nobody designated
    with pytest.raises(VoteError) as err:
        call(compound, organiser)
    assert "尚未推选表决人" in err.value.zh and "302" in err.value.zh
    assert Vote.objects.count() == 0  # nothing half-written


@pytest.mark.django_db
def test_unit_without_any_area_is_refused(compound, organiser):
    registry.create_unit(actor=None, node=compound.mini.entrance, number="501")
    with pytest.raises(VoteError) as err:
        call(compound, organiser)
    assert "没有面积" in err.value.zh and "501" in err.value.zh
    assert err.value.field == "unit_set"


@pytest.mark.django_db
def test_unit_without_recorded_owner_still_counts_as_one_head(compound, organiser):
    registry.create_unit(actor=None, node=compound.mini.entrance, number="501", area_registered=Decimal("80.00"))
    vote = call(compound, organiser)
    assert vote.total_heads == 7 and vote.total_area == TOTAL_AREA + Decimal("80.00")
    assert vote.roll.get(voter__isnull=True).name_masked == "（业主未登记）"


@pytest.mark.django_db
def test_call_vote_validates_input_with_bilingual_messages(compound, organiser):
    with pytest.raises(VoteError) as err:
        call(compound, organiser, matter="")
    assert err.value.field == "matter" and "第二百七十八条" in err.value.zh
    with pytest.raises(VoteError) as err:
        call(compound, organiser, subject=" ")
    assert err.value.field == "subject" and err.value.en == "subject is required"
    with pytest.raises(VoteError) as err:
        call(compound, organiser, notice_days=7)
    assert err.value.field == "notice_days" and "15" in err.value.zh
    now = timezone.now()
    with pytest.raises(VoteError) as err:
        call(compound, organiser, opens_at=now, closes_at=now)
    assert err.value.field == "closes_at"


@pytest.mark.django_db
def test_only_organisers_in_scope_may_call_a_vote(compound, persona, mini):
    outsider = persona("community_worker", node=mini.other_subdistrict, username="outsider")
    with pytest.raises(PermissionDenied):
        call(compound, outsider)
    with pytest.raises(PermissionDenied):
        call(compound, persona("hotline_operator"))


@pytest.mark.django_db
def test_notice_period_is_counted_with_the_holiday_calendar(compound, organiser):
    """Published 2025-09-20: 15 days end on 10-05, inside the National Day holiday (10-01…10-08), so the
    period runs to the next working day, 10-09; voting may open on 10-10 at the earliest."""
    assert actions.notice_schedule(date(2025, 9, 20), 15) == (date(2025, 10, 9), date(2025, 10, 10))
    published = datetime(2025, 9, 20, 10, 0, tzinfo=SH)
    vote = call(
        compound,
        organiser,
        opens_at=datetime(2025, 10, 9, 9, 0, tzinfo=SH),
        closes_at=datetime(2025, 10, 20, 18, 0, tzinfo=SH),
    )
    with pytest.raises(VoteError) as err:
        actions.publish_roll(vote, actor=organiser, now=published)
    assert "2025-10-10" in err.value.zh and err.value.field == "opens_at"
    actions.reschedule_vote(
        vote,
        actor=organiser,
        opens_at=datetime(2025, 10, 10, 9, 0, tzinfo=SH),
        closes_at=datetime(2025, 10, 20, 18, 0, tzinfo=SH),
    )
    actions.publish_roll(vote, actor=organiser, now=published)
    assert vote.status == Vote.Status.ROLL_PUBLISHED and vote.notice_ends_on == date(2025, 10, 9)
    with pytest.raises(VotingClosed):
        actions.open_vote(vote, actor=organiser, now=datetime(2025, 10, 9, 12, 0, tzinfo=SH))
    actions.open_vote(vote, actor=organiser, now=datetime(2025, 10, 10, 9, 0, tzinfo=SH))
    assert vote.status == Vote.Status.OPEN


def cast_all(vote, compound, worker, voter_account):
    """张 yes online; 李 yes on paper; developer no by phone; 赵 yes door-to-door; 钱 abstains by proxy; 孙 absent."""
    roll = {e.voter_id: e for e in vote.roll.all()}
    results = [
        actions.cast_ballot(
            vote, roll[compound.zhang.pk], actor=voter_account, choice="yes", channel="online", identity_confirmed=True
        ),
    ]
    scan = actions.attach_ballot_document(vote, actor=worker, data=PDF, name="ballot-201.pdf")
    results.append(
        actions.cast_ballot(vote, roll[compound.li.pk], actor=worker, choice="yes", channel="paper", attachment=scan)
    )
    results.append(actions.cast_ballot(vote, roll[compound.developer.pk], actor=worker, choice="no", channel="phone"))
    results.append(actions.cast_ballot(vote, roll[compound.zhao.pk], actor=worker, choice="yes", channel="door"))
    auth = actions.attach_ballot_document(vote, actor=worker, data=PDF, name="proxy-401.pdf")
    results.append(
        actions.cast_ballot(
            vote,
            roll[compound.qian.pk],
            actor=worker,
            choice="abstain",
            channel="proxy",
            attachment=auth,
            proxy_name="钱小梅",
        )
    )
    return results


@pytest.mark.django_db
def test_a_vote_from_call_to_certified_result(compound, organiser):
    vote = open_vote_now(compound, organiser)
    zhang = compound.account(compound.zhang)
    results = cast_all(vote, compound, organiser, zhang)
    assert [r.entry.seq for r in results] == [1, 2, 3, 4, 5]
    ballot = results[0].ballot
    assert ballot.actor == zhang and ballot.on_behalf_of == compound.zhang
    assert results[1].ballot.attachment is not None and results[4].ballot.proxy_name == "钱小梅"
    assert results[1].ballot.actor == organiser and results[1].ballot.on_behalf_of == compound.li
    vote.refresh_from_db()
    assert vote.ballot_count == 5 and vote.participating_area == TOTAL_AREA - Decimal("71.10")

    t = turnout(vote)
    assert (t["heads"].part, t["heads"].whole, t["heads"].fraction, t["heads"].met) == (5, 6, "5/6", True)
    assert t["area"].fraction == "9205/10627" and t["buildings"][0]["building"] == "1号楼"

    with pytest.raises(VotingClosed):
        actions.close_vote(vote, actor=organiser)  # not before the closing time
    actions.close_vote(vote, actor=organiser, now=after_close(vote))
    assert vote.passed is True and vote.status == Vote.Status.CLOSED
    view = result_view(vote)
    assert view["rule"] == "art278_double_majority"
    agree_area = next(c for c in view["conditions"] if c.label_en.startswith("agreeing area"))
    # 张 126.00 + 李 64.50 + 赵 67.50 = 258.00 of 460.25 participating
    assert (agree_area.numerator, agree_area.denominator, agree_area.fraction) == ("258.00", "460.25", "1032/1841")
    assert agree_area.percent == "56.06%" and agree_area.met
    agree_heads = next(c for c in view["conditions"] if c.label_en.startswith("agreeing owners"))
    assert (agree_heads.fraction, agree_heads.percent) == ("3/5", "60.00%")
    assert vote.result["recount"]["participating_area"] == "460.25"

    actions.certify_result(vote, actor=organiser)
    assert vote.status == Vote.Status.CERTIFIED and vote.certified_by == organiser
    assert verify_ballot_log(vote) == []
    assert list(verify()) == []


@pytest.mark.django_db
def test_three_quarter_matters_fail_on_the_same_ballots(compound, organiser):
    vote = open_vote_now(compound, organiser, matter="change_use", subject="利用共有部分设置快递柜")
    cast_all(vote, compound, organiser, compound.account(compound.zhang))
    actions.close_vote(vote, actor=organiser, now=after_close(vote))
    assert vote.passed is False and vote.result["rule"] == "art278_three_quarters"
    assert any("同意面积" in r for r in vote.result["reasons_zh"])


@pytest.mark.django_db
def test_without_quorum_nothing_passes(compound, organiser):
    vote = open_vote_now(compound, organiser)
    roll = {e.voter_id: e for e in vote.roll.all()}
    for person in (compound.zhang, compound.li, compound.zhao):  # 3/6 heads: no quorum, although all agree
        actions.cast_ballot(vote, roll[person.pk], actor=organiser, choice="yes", channel="door")
    actions.close_vote(vote, actor=organiser, now=after_close(vote))
    assert vote.passed is False and vote.result["quorum_met"] is False


@pytest.mark.django_db
def test_certify_refuses_a_tampered_ballot(compound, organiser):
    vote = open_vote_now(compound, organiser)
    cast_all(vote, compound, organiser, compound.account(compound.zhang))
    actions.close_vote(vote, actor=organiser, now=after_close(vote))
    Ballot.objects.filter(vote=vote, choice="no").update(choice="yes")  # someone edits the database
    with pytest.raises(VoteError) as err:
        actions.certify_result(vote, actor=organiser)
    assert err.value.status == 409 and "承诺值" in err.value.zh


@pytest.mark.django_db
def test_residents_meeting_and_consent_poll_count_households(compound, organiser):
    meeting = open_vote_now(
        compound, organiser, kind=Vote.Kind.RESIDENTS_MEETING, matter="", subject="加装电梯意见征询", notice_days=7
    )
    # Households = units with a recorded owner or resident (the developer's unsold units are not households).
    assert meeting.total_heads == 6
    roll = list(meeting.roll.all())
    for entry in roll[:4]:
        actions.cast_ballot(meeting, entry, actor=organiser, choice="yes", channel="door")
    actions.close_vote(meeting, actor=organiser, now=after_close(meeting))
    assert meeting.passed is True and meeting.result["rule"] == "urc_art9_majority"

    poll = open_vote_now(
        compound,
        organiser,
        kind=Vote.Kind.CONSENT,
        matter="",
        subject="老旧小区改造方案",
        notice_days=3,
        consent=(4, 5),
    )
    for entry in list(poll.roll.all())[:4]:
        actions.cast_ballot(poll, entry, actor=organiser, choice="yes", channel="door")
    actions.close_vote(poll, actor=organiser, now=after_close(poll))
    assert poll.passed is False  # 4/6 < 4/5 of households
    assert poll.result["rule"] == "consent_ge_4_5_of_eligible"


@pytest.mark.django_db
def test_deliberation_can_call_a_vote_and_find_it(compound, organiser):
    vote = call(compound, organiser, matter_ref="deliberation.matter:42", subject="选聘物业：航海物业")
    assert list(votes_for_matter("deliberation.matter:42")) == [vote]


@pytest.mark.django_db
def test_vote_over_nodes_instead_of_a_unit_set(compound, organiser, mini):
    now = timezone.now()
    vote = actions.call_vote(
        actor=organiser,
        subject="加装电梯",
        matter="alter_rebuild",
        nodes=[mini.entrance],
        opens_at=now + timedelta(days=40),
        closes_at=now + timedelta(days=41),
    )
    assert vote.scope == mini.entrance and vote.total_heads == 6


@pytest.mark.django_db
def test_data_file_matches_the_platform_tally(compound, organiser):
    vote = open_vote_now(compound, organiser)
    cast_all(vote, compound, organiser, compound.account(compound.zhang))
    data = data_file(vote)
    assert data["matter"] == "property_company" and len(data["owners"]) == 6
    dev = next(o for o in data["owners"] if o["developer"])
    assert dev["choice"] == "no" and sorted(u["area"] for u in dev["units"]) == ["65.50", "66.50"]
    assert sum(1 for o in data["owners"] if o["choice"] is None) == 1
    assert tally_vote(vote).passed is True
    # No personal data in the file: opaque ids only.
    text = str(data)
    assert "张" not in text and str(compound.zhang.pk) not in [o["id"] for o in data["owners"]]


@pytest.mark.django_db
def test_roll_entries_know_their_natural_or_legal_voter(compound, organiser):
    vote = call(compound, organiser)
    assert vote.roll.get(developer=True).voter.kind == Person.Kind.LEGAL
