"""The surveys demo tells its story: 航海小区 above 92% on all three rates with intervals, 豪邦花园 part way with
under-sampled buildings, a 一征 needs survey for 桃源路47号院 with a repeat group, a questionnaire to the district's
enterprises; loading twice adds nothing."""

from io import StringIO

import pytest

from gongzhi.site import demo as core_demo
from gongzhi.surveys import demo, selectors
from gongzhi.surveys.models import Response, Survey


@pytest.mark.django_db
def test_surveys_demo():
    ctx = core_demo.DemoContext(stdout=StringIO())
    core_demo.load(ctx)
    demo.load(ctx)
    hanghai = Survey.objects.get(title=demo.HANGHAI)
    report = selectors.figures(hanghai)
    assert not report.census and hanghai.status == "closed" and hanghai.results_published
    for f in (report.awareness, report.satisfaction):
        assert f.rate > f.low >= hanghai.target and f.target_met
    assert report.participation.rate >= hanghai.target and report.participation.target_met
    assert set(Response.objects.filter(survey=hanghai).values_list("channel", flat=True)) == {
        "door",
        "hotline",
        "paper",
    }
    assert "note" not in hanghai.published_keys
    haobang = Survey.objects.get(title=demo.HAOBANG)
    assert haobang.status == "open"
    rows = selectors.by_building(haobang)
    assert any(r.under_sampled for r in rows) and not all(r.under_sampled for r in rows)
    taoyuan = Survey.objects.get(title=demo.TAOYUAN)
    assert taoyuan.households > 0 and Response.objects.filter(survey=taoyuan).exists()
    seats = taoyuan.quotas.get()
    assert 0 < seats.filled < seats.maximum == demo.COUNCIL_PLACES
    elders = 0
    for r in Response.objects.filter(survey=taoyuan):  # the needs counted by the server
        assert r.answers["n_needs"] == len(r.answers["needs"])
        assert r.answers["elder"] == min(r.answers["elders"], 4)  # the repeat group: one set per older resident
        elders += r.answers["elder"]
        assert all(f"elder__{n}__elder_age" in r.answers for n in range(1, r.answers["elder"] + 1))
    assert elders > 0
    jobs = Survey.objects.get(title=demo.JOBS)  # to the district's enterprises and work units
    assert jobs.respondents == "organization" and jobs.households > 0
    assert not jobs.frame.filter(organization__isnull=True).exists()
    hiring = Response.objects.filter(survey=jobs, answers__hiring="yes")
    assert hiring.exists() and all(r.answers["posts"] == r.answers["n_posts"] for r in hiring)
    before = Response.objects.count()
    demo.load(ctx)
    assert Response.objects.count() == before and Survey.objects.count() == 4
