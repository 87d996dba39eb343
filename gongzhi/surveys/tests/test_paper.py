"""Paper questionnaires entered by a worker for the resident who filled them in: numbered, entered once, audited,
and counted in the rates like any other response (until rejected)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gongzhi.core.models import AuditEntry
from gongzhi.surveys import actions, rates, selectors
from gongzhi.surveys.actions import SurveyError
from gongzhi.surveys.models import Response, SurveyHousehold
from gongzhi.surveys.tests.test_actions import PNG, answer, frame, resident_of
from testkit import surveys as testing
from testkit.world import make_user


@pytest.fixture
def sc(mini):
    return testing.build(mini)


@pytest.fixture
def worker(mini):
    return make_user("cw", "community_worker", mini.community)


def paper(survey, h, worker, number, answers=None, **kw):
    kw.setdefault("on_behalf_of", None if survey.anonymous else resident_of(h))
    return actions.submit_response(
        survey,
        h,
        actor=worker,
        answers=answers or {"aware": "yes", "satisfied": 5},
        channel="paper",
        scan=(PNG, "scan.png"),
        paper_number=number,
        **kw,
    )


def test_a_paper_is_numbered_names_its_resident_and_is_audited(sc, worker):
    survey = testing.make_survey(sc)
    h = frame(survey)[0]
    r = paper(survey, h, worker, " p-0007 ")
    assert (r.paper_number, r.on_behalf_of, r.entered_by, r.review) == ("P-0007", resident_of(h), worker, "received")
    entry = AuditEntry.objects.get(action="surveys.submit_response", target_id=str(r.pk))
    assert entry.channel == "paper" and entry.on_behalf_of_id == resident_of(h).pk
    assert entry.changes["paper_number"] == "P-0007" and entry.actor_id == worker.pk


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"paper_number": ""}, "paper_number"),
        ({"paper_number": "P 7"}, "paper_number"),
        ({"paper_number": "x" * 31}, "paper_number"),
        ({"paper_number": "P-1", "on_behalf_of": None}, "on_behalf_of"),
    ],
)
def test_a_paper_without_a_proper_number_or_resident_is_refused_and_nothing_written(sc, worker, kw, field):
    survey = testing.make_survey(sc)
    h = frame(survey)[0]
    number = kw.pop("paper_number")
    before = AuditEntry.objects.count()
    with pytest.raises(SurveyError) as e:
        paper(survey, h, worker, number, **kw)
    assert e.value.field == field
    assert not Response.objects.exists() and AuditEntry.objects.count() == before
    h.refresh_from_db()
    assert not h.taken


def test_the_resident_acted_for_must_live_in_or_own_the_household(sc, worker):
    survey = testing.make_survey(sc)
    h, other = frame(survey)[:2]
    with pytest.raises(SurveyError) as e:
        paper(survey, h, worker, "P-1", on_behalf_of=resident_of(other))
    assert e.value.field == "on_behalf_of"
    with pytest.raises(SurveyError) as e:  # the hotline too
        answer(survey, h, worker, channel="hotline", on_behalf_of=resident_of(other))
    assert e.value.field == "on_behalf_of"
    with pytest.raises(SurveyError) as e:  # a number belongs to paper only
        answer(survey, h, worker, channel="door", paper_number="P-1")
    assert e.value.field == "paper_number"
    assert not Response.objects.exists()


def test_a_paper_is_entered_once_and_again_only_after_rejection(sc, worker):
    survey = testing.make_survey(sc)
    h1, h2 = frame(survey)[:2]
    first = paper(survey, h1, worker, "P-1")
    with pytest.raises(SurveyError) as e:  # the same paper typed in for another flat
        paper(survey, h2, worker, "p-1")
    assert e.value.field == "paper_number" and e.value.code == "duplicate" and first.reference in e.value.zh
    with pytest.raises(SurveyError) as e:  # another paper for a household that has answered
        paper(survey, h1, worker, "P-2")
    assert e.value.field == "household"
    h2.refresh_from_db()
    assert not h2.taken  # the refused entry left nothing behind
    actions.review_response(first, actor=worker, decision="rejected", comment="户号写错了，应为另一户")
    again = paper(survey, h2, worker, "P-1")  # corrected and entered again under its number
    assert again.paper_number == "P-1" and Response.objects.filter(paper_number="P-1").count() == 2
    # another survey has its own numbering
    other = testing.make_survey(sc, title="另一份调查")
    assert paper(other, frame(other)[0], worker, "P-1").paper_number == "P-1"


def test_an_anonymous_paper_keeps_its_number_but_no_resident(sc, worker):
    survey = testing.make_survey(sc, anonymous=True)
    h1, h2 = frame(survey)[:2]
    r = paper(survey, h1, worker, "N-1", on_behalf_of=resident_of(h1))
    assert (r.household, r.on_behalf_of, r.entered_by, r.paper_number) == (None, None, None, "N-1")
    r2 = paper(survey, h2, worker, "N-2", on_behalf_of=None)  # no resident needed
    assert r2.paper_number == "N-2"
    with pytest.raises(SurveyError) as e:
        paper(survey, frame(survey)[2], worker, "N-2")
    assert e.value.field == "paper_number" and "HF" not in e.value.zh  # no reference that would link it


def test_paper_responses_count_in_the_rates_denominators_until_rejected(sc, worker):
    survey = testing.make_survey(sc)
    hs = frame(survey)
    paper(survey, hs[0], worker, "P-1", {"aware": "yes", "satisfied": 5})
    paper(survey, hs[1], worker, "P-2", {"aware": "yes", "satisfied": "na"})  # no rating: not in satisfaction's
    bad = paper(survey, hs[2], worker, "P-3", {"aware": "no"})
    answer(survey, hs[3], worker, answers={"aware": "yes", "satisfied": 3})
    f = selectors.figures(survey)
    assert (f.households, f.response.numerator, f.response.denominator) == (10, 4, 10)
    assert (f.awareness.numerator, f.awareness.denominator) == (3, 4)
    assert (f.satisfaction.numerator, f.satisfaction.denominator) == (1, 2)
    assert (f.participation.numerator, f.participation.denominator) == (4, 10)
    actions.review_response(bad, actor=worker, decision="rejected", comment="字迹无法辨认")
    f = selectors.figures(survey)
    assert (f.response.numerator, f.awareness.numerator, f.awareness.denominator) == (3, 3, 3)
    assert f.participation.numerator == 3
    # the data file gives the same figures through the command's code
    data = selectors.data_file(survey)
    again = rates.compute(
        data["households"],
        [rates.ResponseRow(r["household"], r["aware"], r["satisfaction"]) for r in data["responses"]],
        data["participants"],
        satisfied_from=data["satisfied_from"],
    )
    assert again.as_json()["awareness"]["rate"] == f.as_json()["awareness"]["rate"]


def test_paper_pages_in_both_languages(client, sc, worker):
    survey = testing.make_survey(sc)
    h = frame(survey)[0]
    client.force_login(worker)
    url = reverse("surveys:enter-form", args=[survey.pk, h.token])
    page = client.get(url).content.decode()
    assert 'name="paper_number"' in page and 'name="caller"' in page
    from io import BytesIO

    def post(number, caller):
        scan = BytesIO(PNG)
        scan.name = "scan.png"
        body = {"channel": "paper", "aware-answer": "no", "paper_number": number, "scan": scan}
        if caller:
            body["caller"] = caller
        return client.post(url, body)

    r = post("", None)
    body = r.content.decode()
    assert r.status_code == 200 and "请填写纸质问卷编号" in body and "纸质问卷须选择填写问卷的居民" in body
    assert post("Q-9", resident_of(h).pk).status_code == 302
    h2 = frame(survey)[1]
    url = reverse("surveys:enter-form", args=[survey.pk, h2.token])
    r = post("q-9", resident_of(h2).pk)
    assert r.status_code == 200 and "编号为Q-9的纸质问卷已录入" in r.content.decode()
    assert not SurveyHousehold.objects.get(pk=h2.pk).taken
    papers = reverse("surveys:papers", args=[survey.pk])
    body = client.get(papers, {"q": "q-9"}).content.decode()
    assert "Q-9" in body and h.label in body and "纸质问卷登记" in body
    assert "尚未录入" in client.get(papers, {"q": "Z-1"}).content.decode()
    client.cookies["django_language"] = "en"
    r = client.get(papers, HTTP_ACCEPT_LANGUAGE="en")
    body = r.content.decode()
    assert "Paper questionnaires" in body and "纸质问卷登记" not in body
    r = post("q-9", resident_of(h2).pk)
    assert "paper Q-9 has already been entered" in r.content.decode()


def test_paper_and_quota_pages_cost_the_same_queries_at_any_size(client, sc, worker):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    survey = testing.make_survey(sc)
    hs = frame(survey)
    client.force_login(worker)
    urls = [
        reverse("surveys:papers", args=[survey.pk]),
        reverse("surveys:quotas", args=[survey.pk]),
        reverse("surveys:progress", args=[survey.pk]),
        reverse("surveys:enter", args=[survey.pk]),
    ]

    def cost() -> list[int]:
        out = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx.captured_queries))
        return out

    paper(survey, hs[0], worker, "P-1")
    actions.add_quota(survey, actor=worker, kind="building", building=hs[0].building, maximum=9)
    cost()  # the first request renews the session (at most once a minute, whatever the size): not measured
    small = cost()
    for i, h in enumerate(hs[1:7]):
        paper(survey, h, worker, f"P-{i + 2}")
    actions.add_quota(survey, actor=worker, kind="age_band", age_band="80", maximum=9)
    actions.add_quota(survey, actor=worker, kind="choice", question_key="items", choice_code="lift", maximum=9)
    assert cost() == small
    assert max(small) <= 24
