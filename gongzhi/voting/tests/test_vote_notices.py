"""With the real voting app: the roll and result notices, and a matter resolved by a certified owners' vote."""

import shutil
import subprocess
from datetime import date, timedelta

import pytest

from gongzhi.deliberation import actions as deliberation
from gongzhi.deliberation.actions import ProcessError
from gongzhi.notices.actions import NoticeError
from gongzhi.notices.models import Notice
from gongzhi.notices.pdf import notice_pdf_bytes
from gongzhi.voting import actions as voting
from gongzhi.voting import notices as builders
from gongzhi.voting.models import VoterRollEntry
from testkit import world as testing
from testkit.voting import after_close, build_owners_compound, open_vote_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def owners(mini):
    return build_owners_compound(mini)


@pytest.fixture
def set_today(monkeypatch):
    from gongzhi.deliberation import clock

    return lambda day: monkeypatch.setattr(clock, "today", lambda: day)


@pytest.fixture
def organiser(mini):
    return testing.make_user("organiser", "community_worker", mini.community)


def cast_all(vote, organiser, choice="yes"):
    for entry in VoterRollEntry.objects.filter(vote=vote).order_by("number"):
        voting.cast_ballot(vote, entry, actor=organiser, choice=choice, channel="phone")


def finish(vote, organiser):
    vote = voting.close_vote(vote, actor=organiser, now=after_close(vote))
    return voting.certify_result(vote, actor=organiser, now=after_close(vote) + timedelta(minutes=1))


def test_roll_notice_has_units_areas_headcount_and_masked_names_only(owners, organiser, client):
    vote = open_vote_now(owners, organiser)
    notice = builders.build_roll_notice(vote.pk, actor=organiser)
    assert notice.kind == Notice.Kind.VOTER_ROLL and notice.vote_id == vote.pk
    page = client.get(f"/notices/{notice.pk}/").content.decode()
    assert "张**" in page and "张卫东" not in page and "开发建设单位" in page
    assert f"计{vote.total_heads}人" in page


def test_result_notice_states_the_rule_and_the_four_ratios(owners, organiser):
    vote = open_vote_now(owners, organiser)
    with pytest.raises(NoticeError):
        builders.build_result_notice(vote.pk, actor=organiser)
    cast_all(vote, organiser)
    vote = finish(vote, organiser)
    notice = builders.build_result_notice(vote.pk, actor=organiser)
    ratios = notice.tables[1]
    assert len(ratios["rows"]) == 4 and all(row[3] == "是" for row in ratios["rows"])
    assert "第二百七十八条" in notice.tables[0]["rows"][2][1]
    if shutil.which("pdftotext"):
        data = notice_pdf_bytes(notice)
        text = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
        ).stdout
        assert "表决结果公示" in text.decode()


def test_matter_resolved_by_a_certified_vote_moves_on(owners, organiser, set_today):
    from gongzhi.deliberation.tests.builders import courtyard_set

    set_today(date(2026, 9, 1))
    matter = deliberation.create_matter(
        actor=organiser, title="选聘物业服务企业", unit_set=courtyard_set(owners.mini), today=date(2026, 9, 1)
    )
    resolve = matter.template.stages.get(code="resolve")
    matter.stage = resolve  # fast-forward for the test: the earlier stages are covered in test_flow
    matter.save()
    vote = open_vote_now(owners, organiser, matter_ref=matter.vote_ref)
    deliberation.link_vote(matter, actor=organiser, vote_id=vote.pk)
    with pytest.raises(ProcessError) as err:
        deliberation.advance_matter(matter, actor=organiser, today=date(2026, 9, 24))
    assert err.value.code == "vote_pending"
    cast_all(vote, organiser)
    finish(vote, organiser)
    deliberation.advance_matter(matter, actor=organiser, today=date(2026, 9, 24))
    matter.refresh_from_db()
    assert matter.stage.code == "resolution_notice"
    notice = Notice.objects.get(matter=matter, kind=Notice.Kind.RESOLUTION)
    assert any(t["title"] == "计算依据（四项比例）" for t in notice.tables)


def test_a_failed_vote_blocks_until_returned(owners, organiser, set_today):
    from gongzhi.deliberation.tests.builders import courtyard_set

    matter = deliberation.create_matter(actor=organiser, title="筹集维修资金", unit_set=courtyard_set(owners.mini))
    matter.stage = matter.template.stages.get(code="resolve")
    matter.save()
    vote = open_vote_now(owners, organiser, matter="raise_fund", matter_ref=matter.vote_ref)
    deliberation.link_vote(matter, actor=organiser, vote_id=vote.pk)
    cast_all(vote, organiser, choice="no")
    finish(vote, organiser)
    with pytest.raises(ProcessError) as err:
        deliberation.advance_matter(matter, actor=organiser)
    assert err.value.code == "vote_failed"
