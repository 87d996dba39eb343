"""服务评价: the service desk's 满意率 from the residents' ratings, with the surveys' arithmetic.

The figure at its bounds, the three levels on the surveys' 1–5 scale, the data file recomputed by
`python -m gongzhi.surveys.rates`, scope, English, bad filters (400 naming the field) and the query budget."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from gongzhi.servicedesk import ratings
from gongzhi.servicedesk.models import ServiceRequest
from gongzhi.surveys import rates
from gongzhi.surveys.actions import set_rate_settings
from testkit.permissions import signed_in_client
from testkit.untranslated import untranslated
from testkit.world import make_user

URL = "servicedesk:ratings"
DATA = "servicedesk:ratings_data"


# --- the pure figure -------------------------------------------------------------------------------------------
def test_no_ratings_no_rate_and_the_target_is_not_met():
    f = ratings.figures(ratings.Counts(closed=7, rated=0, satisfied=0), Decimal("0.92"))
    assert f.satisfaction.rate is None and f.satisfaction.percent == "—"
    assert f.satisfaction.target_met is False
    assert (f.rating.numerator, f.rating.denominator, f.rating.rate) == (0, 7, Decimal("0"))
    nothing = ratings.figures(ratings.Counts(), Decimal("0.92"))
    assert nothing.satisfaction.rate is None and nothing.rating.rate is None and not nothing.census


def test_all_rated_is_a_census_and_the_interval_is_the_rate():
    f = ratings.figures(ratings.Counts(closed=25, rated=25, satisfied=24), Decimal("0.92"))
    assert f.census
    assert f.satisfaction.rate == f.satisfaction.low == f.satisfaction.high == Decimal("0.9600")
    assert f.satisfaction.target_met is True  # 96 % ≥ 92 %, judged on the rate itself
    sample = ratings.figures(ratings.Counts(closed=30, rated=25, satisfied=24), Decimal("0.92"))
    assert not sample.census and sample.satisfaction.low < Decimal("0.92") < sample.satisfaction.rate
    assert sample.satisfaction.target_met is False  # the lower bound decides
    assert (sample.satisfaction.low, sample.satisfaction.high) == rates.wilson(24, 25)


@given(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30), st.sampled_from(["0.92", "0.5", "1", "0"]))
def test_the_figure_is_what_the_surveys_compute_gives(a, b, c, target):
    satisfied, rated, closed = sorted((a, b, c))
    mine = ratings.figures(ratings.Counts(closed, rated, satisfied), Decimal(target))
    households = [f"r{i}" for i in range(closed)]
    responses = [rates.ResponseRow(h, None, 5 if i < satisfied else 1) for i, h in enumerate(households[:rated])]
    if closed:
        theirs = rates.compute(households, responses, satisfied_from=4, target=Decimal(target))
        assert mine.satisfaction == theirs.satisfaction
        assert mine.rating == theirs.response
        assert mine.census == theirs.census


def test_the_three_levels_on_the_surveys_scale():
    assert ratings.SCALE == {"satisfied": 5, "basic": 4, "unsatisfied": 1}
    assert set(ratings.SCALE) == set(ServiceRequest.Satisfaction.values)
    assert ratings.satisfied_levels(4) == ["satisfied", "basic"]  # the default: 满意 + 基本满意 (12345 practice)
    assert ratings.satisfied_levels(3) == ratings.satisfied_levels(2) == ["satisfied", "basic"]
    assert ratings.satisfied_levels(5) == ["satisfied"]
    assert ratings.satisfied_levels(1) == ["satisfied", "basic", "unsatisfied"]
    with pytest.raises(ValueError):
        ratings.satisfied_levels(0)
    doc = ratings.data_file(["satisfied", None, "basic", "unsatisfied"], satisfied_from=4, target=Decimal("0.92"))
    assert [r["satisfaction"] for r in doc["responses"]] == [5, 4, 1]
    assert doc["households"] == ["r1", "r2", "r3", "r4"] and doc["target"] == "0.9200"


# --- the page --------------------------------------------------------------------------------------------------
@pytest.fixture
def closed(submit, mini):
    """closed(rating, node=None, days_ago=1) → a request closed that many days ago, rated so (or not, None)."""

    def make(rating: str | None, node=None, days_ago: int = 1, rated_before: bool = False) -> ServiceRequest:
        req = submit()
        done = timezone.now() - timedelta(days=days_ago)
        fields = {"status": "completed", "completed_at": done, "resolution": "已处理"}
        if rating:
            fields |= {"status": "rated", "satisfaction": rating, "rating_comment": "师傅很好，电话13812345678"}
            fields["rated_at"] = done - timedelta(hours=1) if rated_before else done + timedelta(minutes=5)
        if node is not None:
            fields |= {"node": node, "compound": node, "path": node.path}
        ServiceRequest.objects.filter(pk=req.pk).update(**fields)
        return req

    return make


def _month(days_ago: int = 1) -> str:
    return f"{timezone.localdate() - timedelta(days=days_ago):%Y-%m}"


def _page(client, user, **params):
    client.force_login(user)
    return client.get(reverse(URL), params)


@pytest.mark.django_db
def test_the_page_shows_the_figure_its_definition_and_the_data_file_recomputes_it(client, closed, worker, mini):
    for r in ["satisfied"] * 5 + ["basic"] * 2 + ["unsatisfied", None, None]:
        closed(r, days_ago=0)
    closed("unsatisfied", days_ago=0, rated_before=True)  # a rating before its return for rework: not this closure's
    r = _page(client, worker, node=mini.community.pk)
    assert r.status_code == 200
    f = r.context["overall"]["f"]
    assert (f.satisfaction.numerator, f.satisfaction.denominator) == (7, 8)
    assert (f.rating.numerator, f.rating.denominator) == (8, 11)
    assert not f.census and f.satisfaction.target_met is False
    page = r.content.decode()
    assert "87.50%" in page and "7 ÷ 8" in page and "8 ÷ 11" in page
    assert "满意率 = 评价为“满意”或“基本满意”的工单数 ÷ 已评价的工单数" in page
    assert f"{f.satisfaction.low} – {f.satisfaction.high}" in page
    assert "<svg" in page and "油漆厂家属院" in page  # the community's compounds, charted

    data = client.get(reverse(DATA), {"node": mini.community.pk, "month": _month(0)})
    assert data.status_code == 200 and data["Content-Disposition"].startswith("attachment")
    body = data.content.decode()
    for personal in ("13812345678", "师傅", "张建国", "楼道灯", "1号楼", mini.courtyard.name):
        assert personal not in body
    out = subprocess.run(
        [sys.executable, "-m", "gongzhi.surveys.rates", "-"],
        input=body,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout)
    assert report["satisfaction"] == f.satisfaction.as_json()
    assert report["response"] == f.rating.as_json()
    assert report["households"] == 11


@pytest.mark.django_db
def test_every_closed_request_rated_is_a_census_and_the_district_level_applies(client, closed, worker, mini):
    for r in ["satisfied"] * 3 + ["basic"]:
        closed(r, days_ago=0)
    f = _page(client, worker).context["overall"]["f"]  # no area given: the worker's community
    assert f.census and f.satisfaction.rate == f.satisfaction.low == f.satisfaction.high == Decimal("1.0000")
    assert f.satisfaction.target_met is True
    set_rate_settings(mini.district, actor=None, target=Decimal("0.70"), satisfied_from=5)  # 满意 alone
    r = _page(client, worker)
    f = r.context["overall"]["f"]
    assert (f.satisfaction.numerator, f.satisfaction.denominator) == (3, 4) and f.satisfaction.target_met is True
    assert "评价为“满意”的工单数" in r.content.decode()
    doc = json.loads(client.get(reverse(DATA)).content)
    assert doc["satisfied_from"] == 5 and doc["target"] == "0.7000"


@pytest.mark.django_db
def test_a_community_worker_sees_only_their_area(client, closed, worker, mini):
    closed("satisfied", days_ago=0)
    closed("unsatisfied", node=mini.other_courtyard, days_ago=0)
    r = _page(client, worker)
    assert r.context["q"].node == mini.community
    assert r.context["overall"]["counts"] == ratings.Counts(1, 1, 1)
    assert _page(client, worker, node=mini.other_courtyard.pk).status_code == 404
    assert _page(client, worker, node=mini.district.pk).status_code == 404
    assert client.get(reverse(DATA), {"node": mini.other_courtyard.pk}).status_code == 404
    admin = signed_in_client(make_user("sd-rate-admin", "district_admin", mini.district))
    whole = admin.get(reverse(URL)).context
    assert whole["q"].node == mini.district and whole["overall"]["counts"] == ratings.Counts(2, 2, 1)
    assert {a["label"] for a in whole["areas"]} >= {"福华街街道", "大学路街道"}


@pytest.mark.django_db
def test_a_month_and_a_date_range(client, closed, worker):
    closed("satisfied", days_ago=0)
    closed("unsatisfied", days_ago=40)
    today = timezone.localdate()
    assert _page(client, worker).context["overall"]["counts"].closed == 1  # this month
    earlier = today - timedelta(days=40)
    r = _page(client, worker, since=earlier.isoformat(), until=today.isoformat())
    assert r.context["overall"]["counts"] == ratings.Counts(2, 2, 1)
    assert _page(client, worker, month=f"{earlier:%Y-%m}").context["overall"]["counts"] == ratings.Counts(1, 1, 0)
    r = _page(client, worker, month=f"{today:%Y-%m}")
    before = f"{today.replace(day=1) - timedelta(days=1):%Y-%m}"
    assert f"month={before}" in r.context["months"]["earlier"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, field",
    [
        ({"month": "2026-13"}, "月份"),
        ({"month": "'; drop"}, "月份"),
        ({"since": "2026-02-30", "until": "2026-03-01"}, "起始日期"),
        ({"since": "2026-03-01"}, "截止日期"),
        ({"since": "9999-01-01", "until": "9999-12-31"}, "起始日期"),
        ({"since": "0001-01-01", "until": "0001-01-02"}, "截止日期"),
        ({"since": "2026-03-09", "until": "2026-03-01"}, "截止日期"),
        ({"node": "abc"}, "区域"),
        ({"node": "99999999"}, "区域"),
        ({"category": "-1"}, "类别"),
        ({"category": "99999999"}, "类别"),
    ],
)
def test_bad_filters_answer_400_naming_the_field(client, worker, params, field):
    r = _page(client, worker, **params)
    assert r.status_code == 400
    summary = r.content.decode().split('id="error-summary"')[1].split("</div>")[0]
    assert field in summary
    client.force_login(worker)
    assert client.get(reverse(DATA), params).status_code == 400


@pytest.mark.django_db
def test_the_page_in_english(client, closed, worker, mini):
    closed("satisfied", days_ago=0)
    closed("basic", days_ago=0)
    closed(None, days_ago=0)
    client.force_login(worker)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse(URL)).content.decode()
    assert untranslated(page) == []
    assert "Satisfaction rate" in page and "95% interval" in page
    bad = client.get(reverse(URL), {"month": "x"})
    assert bad.status_code == 400 and untranslated(bad.content.decode()) == []


@pytest.mark.django_db
def test_the_page_costs_the_same_queries_at_any_size(client, closed, worker, mini, django_assert_max_num_queries):
    client.force_login(worker)
    client.get(reverse(URL))  # a session's first request renews it (at most once a minute, whatever the size)

    def cost(n: int) -> int:
        for i in range(n):
            closed(["satisfied", "basic", "unsatisfied", None][i % 4], days_ago=0)
        with django_assert_max_num_queries(14) as ctx:
            assert client.get(reverse(URL)).status_code == 200
        return len(ctx.captured_queries)

    small = cost(2)
    assert cost(30) == small


@pytest.mark.django_db
def test_no_closed_requests_no_data_file(client, worker):
    client.force_login(worker)
    r = client.get(reverse(URL))
    assert r.status_code == 200 and reverse(DATA) not in r.content.decode()
    assert client.get(reverse(DATA)).status_code == 404
