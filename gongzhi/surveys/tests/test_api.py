"""Surveys API: the gate decides, figures as the command prints them, staff entry with idempotency, budgets."""

import io
import json

import pytest

from gongzhi.registry.models import Residence
from gongzhi.surveys import actions, selectors
from gongzhi.surveys.models import Response, SurveyHousehold
from gongzhi.surveys.tests.test_actions import PNG
from testkit import surveys as testing
from testkit.world import make_user


@pytest.fixture
def sc(mini):
    return testing.build(mini)


@pytest.fixture
def worker(mini):
    return make_user("cw", "community_worker", mini.community)


def test_list_is_scoped_and_budgeted(client, sc, worker, mini, django_assert_max_num_queries):
    for i in range(4):
        testing.make_survey(sc, title=f"s{i}")
    client.force_login(worker)
    with django_assert_max_num_queries(8):
        r = client.get("/api/v1/surveys/")
    assert r.status_code == 200 and len(r.json()["results"]) == 4
    client.force_login(make_user("o", "community_worker", mini.other_courtyard))
    assert client.get("/api/v1/surveys/").json()["results"] == []
    client.force_login(make_user("r", "resident", mini.courtyard))
    assert client.get("/api/v1/surveys/").status_code == 403


def test_detail_figures_equal_the_command_output(client, sc, worker):
    survey = testing.make_survey(sc)
    h = SurveyHousehold.objects.filter(survey=survey).first()
    actions.submit_response(survey, h, actor=worker, answers={"aware": "yes", "satisfied": 4}, channel="door")
    client.force_login(worker)
    body = client.get(f"/api/v1/surveys/{survey.pk}/").json()
    assert body["figures"] == selectors.figures(survey).as_json()
    assert body["figures"]["awareness"]["numerator"] == 1
    rows = client.get(f"/api/v1/surveys/{survey.pk}/buildings/").json()
    assert {r["building"] for r in rows} == {"1号楼", "2号楼"}
    data = client.get(f"/api/v1/surveys/{survey.pk}/data/").json()
    assert len(data["households"]) == 10 and data["target"] == "0.9200"
    client.force_login(make_user("pl", "party_liaison", sc.mini.community))
    assert client.get(f"/api/v1/surveys/{survey.pk}/data/").status_code == 403  # a collector, not entitled


def test_worker_posts_responses_idempotently_and_errors_name_the_field(client, sc, worker):
    survey = testing.make_survey(sc)
    hs = list(SurveyHousehold.objects.filter(survey=survey).order_by("label"))
    client.force_login(worker)
    url = f"/api/v1/surveys/{survey.pk}/responses/"
    payload = {"household": hs[0].token, "channel": "door", "answers": {"aware": "yes", "satisfied": 5}}
    r1 = client.post(url, payload, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    r2 = client.post(url, payload, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()
    assert Response.objects.count() == 1
    r = client.post(url, payload, content_type="application/json")
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "household"
    bad = {"household": hs[1].token, "channel": "door", "answers": {"aware": "yes"}}
    r = client.post(url, bad, content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "satisfied"
    r = client.post(url, {"household": "nope", "channel": "door", "answers": {}}, content_type="application/json")
    assert r.status_code == 404

    def paper(h, **extra):
        scan = io.BytesIO(PNG)
        scan.name = "p.png"
        body = {"household": h.token, "channel": "paper", "answers": json.dumps({"aware": "no"}), "scan": scan}
        return client.post(url, {**body, **extra})

    filler = Residence.objects.filter(unit_id=hs[1].unit_id).first().person
    r = paper(hs[1], on_behalf_of=filler.pk)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "paper_number"
    r = paper(hs[1], paper_number="a-17")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "on_behalf_of"
    stranger = Residence.objects.filter(unit_id=hs[2].unit_id).first().person
    r = paper(hs[1], paper_number="a-17", on_behalf_of=stranger.pk)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "on_behalf_of"
    r = paper(hs[1], paper_number="a-17", on_behalf_of=filler.pk)
    assert r.status_code == 201 and r.json()["review"] == "received"
    assert Response.objects.get(paper_number="A-17").on_behalf_of == filler
    # the same paper again, for another household: refused as a duplicate, naming the number
    other = Residence.objects.filter(unit_id=hs[2].unit_id).first().person
    r = paper(hs[2], paper_number=" A-17 ", on_behalf_of=other.pk)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "paper_number"


def test_closed_survey_refuses_entry(client, sc, worker):
    survey = testing.make_survey(sc)
    actions.close_survey(survey, actor=worker)
    client.force_login(worker)
    h = SurveyHousehold.objects.filter(survey=survey).first()
    r = client.post(
        f"/api/v1/surveys/{survey.pk}/responses/",
        {"household": h.token, "channel": "door", "answers": {"aware": "no"}},
        content_type="application/json",
    )
    assert r.status_code == 403


def test_openapi_lists_the_survey_operations(client, worker):
    client.force_login(worker)
    r = client.get("/api/v1/schema/")
    assert r.status_code == 200
    text = r.content.decode()
    assert "/api/v1/surveys/{id}/responses/" in text and "SurveyDataFile" in text
