"""The surveys demo tells its story: 航海小区 above 92% on all three rates with intervals, 豪邦花园 part way with
under-sampled buildings, a 一征 needs survey for 桃源路47号院; loading twice adds nothing."""

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
    for r in Response.objects.filter(survey=taoyuan):  # the needs counted by the server
        assert r.answers["n_needs"] == len(r.answers["needs"])
    before = Response.objects.count()
    demo.load(ctx)
    assert Response.objects.count() == before and Survey.objects.count() == 3
