"""The roll and result notices on an English page: the document (title, body, the subject, masked names) stays
the Chinese of the bulletin board, marked lang="zh-Hans"; the page's interface and the tables' words — headings,
the rule, the four conditions — are English. The stored notice (and its PDF) keep their Chinese."""

from datetime import timedelta

import pytest
from django.conf import settings

from gongzhi.voting import actions as voting
from gongzhi.voting import notices as builders
from gongzhi.voting.models import VoterRollEntry
from testkit import world as testing
from testkit.untranslated import untranslated
from testkit.voting import after_close, build_owners_compound, open_vote_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def organiser(mini):
    return testing.make_user("organiser", "community_worker", mini.community)


def english(client, url):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.get(url).content.decode()


def test_the_result_notice_reads_in_english_around_its_chinese_document(mini, organiser, client):
    vote = open_vote_now(build_owners_compound(mini), organiser)
    for entry in VoterRollEntry.objects.filter(vote=vote).order_by("number"):
        voting.cast_ballot(vote, entry, actor=organiser, choice="yes", channel="phone")
    vote = voting.close_vote(vote, actor=organiser, now=after_close(vote))
    vote = voting.certify_result(vote, actor=organiser, now=after_close(vote) + timedelta(minutes=1))
    notice = builders.build_result_notice(vote.pk, actor=organiser)
    page = english(client, f"/notices/{notice.pk}/")
    assert untranslated(page) == []
    for words in ("Basis of the result (four ratios)", "Ratio", "Required", "Met", "Civil Code"):
        assert words in page, words
    assert f'<h1 lang="zh-Hans">{notice.title}</h1>' in page.replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert f'<td lang="zh-Hans">{vote.subject}</td>' in page
    assert notice.tables[1]["title"] == "计算依据（四项比例）"  # stored as posted: the PDF stays Chinese
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "计算依据（四项比例）" in client.get(f"/notices/{notice.pk}/").content.decode()


def test_the_roll_notice_reads_in_english_around_its_chinese_document(mini, organiser, client):
    vote = open_vote_now(build_owners_compound(mini), organiser)
    notice = builders.build_roll_notice(vote.pk, actor=organiser)
    page = english(client, f"/notices/{notice.pk}/")
    assert "Roll summary" in page and "开发建设单位" not in page and untranslated(page) == []
