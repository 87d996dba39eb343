"""Surveys: questions validated on save, versions, the frame, channels, review, one response per household."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied

from gongzhi.core.models import AuditEntry
from gongzhi.registry.models import Residence
from gongzhi.surveys import actions, questions, selectors
from gongzhi.surveys.actions import SurveyError
from gongzhi.surveys.models import Response, Survey, SurveyHousehold, SurveyVersion
from testkit import surveys as testing
from testkit.world import make_user


def png() -> bytes:
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.new("RGB", (8, 8), "white").save(buf, format="PNG")
    return buf.getvalue()


PNG = png()
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def sc(mini):
    return testing.build(mini)


@pytest.fixture
def worker(mini):
    return make_user("cw", "community_worker", mini.community)


def frame(survey) -> list[SurveyHousehold]:
    return list(SurveyHousehold.objects.filter(survey=survey).order_by("path", "label"))


def resident_of(h: SurveyHousehold):
    return Residence.objects.filter(unit_id=h.unit_id, until__isnull=True).first().person


def answer(survey, h, actor, channel="door", **kw):
    answers = kw.pop("answers", {"aware": "yes", "satisfied": 5})
    if channel == "paper":
        kw.setdefault("scan", (PNG, "scan.png"))
        kw.setdefault("paper_number", f"P-{h.token}")
        kw.setdefault("on_behalf_of", None if survey.anonymous else resident_of(h))
    return actions.submit_response(survey, h, actor=actor, answers=answers, channel=channel, **kw)


def test_definition_checks_name_the_question():
    bad = copy.deepcopy(testing.QUESTIONS)
    bad[1]["relevant"] = "${later} = 1"
    with pytest.raises(questions.DefinitionError) as e:
        questions.validate_definition(bad)
    assert e.value.index == 1 and "later" in e.value.en
    bad = copy.deepcopy(testing.QUESTIONS)
    bad[0]["choices"][1]["code"] = "yes"
    with pytest.raises(questions.DefinitionError, match="duplicate option"):
        questions.validate_definition(bad)
    bad = copy.deepcopy(testing.QUESTIONS)
    bad[2]["constraint"] = "count(. <= 2"
    with pytest.raises(questions.DefinitionError, match="does not parse"):
        questions.validate_definition(bad)
    bad = copy.deepcopy(testing.QUESTIONS)
    bad[0]["choices"][1]["aware"] = True
    with pytest.raises(questions.DefinitionError, match="aware"):
        questions.validate_definition(bad)
    with pytest.raises(questions.DefinitionError, match="at least one question"):
        questions.validate_definition([])


def test_answers_are_rechecked_skip_required_and_constraints():
    qs = questions.validate_definition(testing.QUESTIONS)
    # skipped question's answer is dropped, and it is not required
    kept = questions.check_answers(qs, {"aware": "no", "satisfied": 2})
    assert kept == {"aware": "no"}
    with pytest.raises(questions.AnswerError) as e:
        questions.check_answers(qs, {"aware": "yes"})
    assert e.value.key == "satisfied"
    with pytest.raises(questions.AnswerError, match="at most two"):
        questions.check_answers(qs, {"aware": "no", "items": ["roof", "pipes", "lift"]})
    with pytest.raises(questions.AnswerError, match="at least 18"):
        questions.check_answers(qs, {"aware": "no", "age": "12"})
    with pytest.raises(questions.AnswerError, match="YYYY-MM-DD"):
        questions.check_answers(qs, {"aware": "no", "moved": "2024-02-30"})
    with pytest.raises(questions.AnswerError, match="no question"):
        questions.check_answers(qs, {"aware": "no", "zzz": 1})
    kept = questions.check_answers(
        qs,
        {
            "aware": "yes",
            "satisfied": "na",
            "items": ["lift", "roof"],
            "age": "67",
            "moved": "1990-05-01",
            "grid": {"safe": "good"},
            "note": " 好 ",
        },
    )
    assert kept["items"] == ["roof", "lift"] and kept["age"] == 67 and kept["note"] == "好"
    assert questions.satisfaction_of(qs, kept) is None and questions.aware_of(qs, kept) is True


def test_only_officers_create_and_the_frame_is_frozen_on_open(sc, worker, mini):
    liaison = make_user("pl", "party_liaison", mini.community)
    with pytest.raises(PermissionDenied):
        actions.create_survey(
            actor=liaison,
            title="x",
            unit_set=sc.unit_set,
            opens_on=testing.day(),
            closes_on=testing.day(1),
            questions=testing.QUESTIONS,
        )
    with pytest.raises(SurveyError) as e:
        actions.create_survey(
            actor=worker,
            title="x",
            unit_set=sc.unit_set,
            opens_on=testing.day(2),
            closes_on=testing.day(1),
            questions=testing.QUESTIONS,
        )
    assert e.value.field == "closes_on"
    survey = testing.make_survey(sc, open_it=False)
    assert survey.target == actions.rate_settings_for(mini.district)[0]
    survey = actions.open_survey(survey, actor=worker)
    rows = frame(survey)
    assert survey.households == len(rows) == 10
    assert {r.building_id for r in rows} == {mini.building.pk, sc.building2.pk}
    assert len({r.token for r in rows}) == 10


def test_district_setting_is_copied_at_creation(sc, mini):
    admin = make_user("da", "district_admin", mini.district)
    actions.set_rate_settings(mini.district, actor=admin, target=Decimal("0.9"), satisfied_from=3)
    survey = testing.make_survey(sc, open_it=False)
    assert (survey.target, survey.satisfied_from) == (Decimal("0.9"), 3)


def test_change_after_first_response_makes_a_new_version(sc, worker):
    survey = testing.make_survey(sc)
    changed = copy.deepcopy(testing.QUESTIONS)
    changed[3]["label"] = "户主年龄（周岁）"
    v = actions.update_questions(survey, actor=worker, questions=changed)
    assert v.number == 1  # no response yet: changed in place
    h = frame(survey)[0]
    r = answer(survey, h, worker)
    changed[3]["label"] = "年龄"
    v2 = actions.update_questions(survey, actor=worker, questions=changed)
    assert v2.number == 2 and r.version.number == 1
    assert SurveyVersion.objects.filter(survey=survey).count() == 2


def test_one_response_per_household_and_review(sc, worker, mini):
    survey = testing.make_survey(sc)
    h = frame(survey)[0]
    r = answer(survey, h, worker, channel="paper")
    assert r.review == Response.Review.RECEIVED and r.scan is not None and r.aware is True and r.satisfaction == 5
    with pytest.raises(SurveyError) as e:
        answer(survey, h, worker)
    assert e.value.field == "household"
    with pytest.raises(SurveyError, match="say why"):
        actions.review_response(r, actor=worker, decision="rejected")
    actions.review_response(r, actor=worker, decision="rejected", comment="扫描件不清楚")
    h.refresh_from_db()
    assert not h.taken
    r2 = answer(survey, h, worker)  # freed by the rejection
    actions.review_response(r2, actor=worker, decision="approved")
    with pytest.raises(SurveyError):
        actions.review_response(r2, actor=worker, decision="rejected", comment="x")
    assert selectors.figures(survey).response.numerator == 1


def test_paper_needs_a_scan_and_hotline_a_caller_and_nothing_half_written(sc, worker):
    survey = testing.make_survey(sc)
    h = frame(survey)[0]
    before = AuditEntry.objects.count()
    with pytest.raises(SurveyError) as e:
        actions.submit_response(survey, h, actor=worker, answers={"aware": "no"}, channel="paper")
    assert e.value.field == "scan"
    with pytest.raises(SurveyError) as e:
        actions.submit_response(survey, h, actor=worker, answers={"aware": "no"}, channel="hotline")
    assert e.value.field == "on_behalf_of"
    with pytest.raises(SurveyError) as e:
        actions.submit_response(survey, h, actor=worker, answers={"aware": "yes"}, channel="door")
    assert e.value.field == "satisfied"
    with pytest.raises(SurveyError) as e:
        answer(survey, h, worker, channel="paper", scan=(b"not an image", "x.txt"))
    assert e.value.field == "scan"
    assert AuditEntry.objects.count() == before
    assert not Response.objects.exists()
    h.refresh_from_db()
    assert not h.taken


def test_online_needs_the_household_member_and_sms(sc, worker):
    survey = testing.make_survey(sc)
    h = frame(survey)[0]
    resident = make_user("res", "resident", sc.mini.courtyard, person=sc.people[0])
    stranger = make_user("str", "resident", sc.mini.courtyard)
    with pytest.raises(PermissionDenied):
        actions.submit_response(survey, h, actor=stranger, answers={"aware": "no"}, channel="online")
    with pytest.raises(SurveyError, match="SMS"):
        actions.submit_response(survey, h, actor=resident, answers={"aware": "no"}, channel="online")
    r = actions.submit_response(
        survey,
        h,
        actor=resident,
        answers={"aware": "no"},
        channel="online",
        identity_confirmed=True,
        idempotency_key="k1",
    )
    assert r.review == "" and r.household == h
    again = actions.submit_response(
        survey,
        h,
        actor=resident,
        answers={"aware": "yes"},
        channel="online",
        identity_confirmed=True,
        idempotency_key="k1",
    )
    assert again.pk == r.pk


def test_closed_or_out_of_period_refuses(sc, worker):
    survey = testing.make_survey(sc, opens_on=testing.day(3), closes_on=testing.day(5))
    with pytest.raises(SurveyError, match="not open"):
        answer(survey, frame(survey)[0], worker)
    survey = testing.make_survey(sc, title="b")
    actions.close_survey(survey, actor=worker)
    with pytest.raises(PermissionDenied):
        answer(survey, frame(survey)[0], worker)


def test_anonymous_keeps_no_household_link(sc, worker):
    survey = testing.make_survey(sc, anonymous=True)
    hs = frame(survey)
    r = answer(survey, hs[0], worker, answers={"aware": "yes", "satisfied": 4})
    assert r.household_id is None and r.entered_by_id is None
    assert (r.submitted_at.minute, r.submitted_at.second) == (0, 0)
    assert not AuditEntry.objects.filter(target_type__endswith="response").exists()
    with pytest.raises(SurveyError):
        answer(survey, hs[0], worker)
    report = selectors.figures(survey)
    assert (report.response.numerator, report.awareness.numerator, report.satisfaction.numerator) == (1, 1, 1)
    # under a building, only that the household answered is known, not what
    b = selectors.figures(survey, hs[0].building)
    assert b.response.numerator == 1 and b.awareness.denominator == 0


def test_figures_by_building_quota_and_the_data_file_recomputes(sc, worker, tmp_path):
    survey = testing.make_survey(sc, quota_percent=50)
    hs = frame(survey)
    b1 = [h for h in hs if h.building_id == sc.mini.building.pk]
    b2 = [h for h in hs if h.building_id == sc.building2.pk]
    for h, (a, s) in zip(b1, [("yes", 5), ("yes", 4), ("yes", 3), ("no", None)], strict=False):
        answer(survey, h, worker, answers={"aware": a, "satisfied": s} if s else {"aware": a})
    answer(survey, b2[0], worker, answers={"aware": "yes", "satisfied": "na"})
    report = selectors.figures(survey)
    assert (report.response.numerator, report.response.denominator) == (5, 10)
    assert (report.awareness.numerator, report.awareness.denominator) == (4, 5)
    assert (report.satisfaction.numerator, report.satisfaction.denominator) == (2, 3)
    assert (report.participation.numerator, report.participation.denominator) == (5, 10)
    rows = {r.building.pk: r for r in selectors.by_building(survey)}
    assert rows[sc.mini.building.pk].needed == 3 and not rows[sc.mini.building.pk].under_sampled
    assert rows[sc.building2.pk].needed == 2 and rows[sc.building2.pk].under_sampled
    f = tmp_path / "data.json"
    f.write_text(json.dumps(selectors.data_file(survey)), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "gongzhi.surveys.rates", str(f)], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert json.loads(out.stdout) == report.as_json()
    text = f.read_text(encoding="utf-8")
    assert "号楼" not in text and not any("\u4e00" <= ch <= "\u9fff" for ch in text)  # no labels, no names
    assert not set(json.loads(text)["households"]) & {u.number for u in sc.units}


def test_participation_counts_other_parts(sc, worker, mini):
    from gongzhi.surveys import participation

    survey = testing.make_survey(sc, project_ref="renovation.project:1")
    hs = frame(survey)
    answer(survey, hs[0], worker)
    participation.register_source("test.orders", lambda ref, units: [hs[5].unit_id] if ref.startswith("renov") else [])
    try:
        report = selectors.figures(survey)
    finally:
        participation.SOURCES.pop("test.orders")
    assert report.participation.numerator == 2


def test_publish_refuses_free_text(sc, worker):
    survey = testing.make_survey(sc)
    with pytest.raises(SurveyError, match="free-text"):
        actions.publish_results(survey, actor=worker, published=True, keys=["aware", "note"])
    survey = actions.publish_results(survey, actor=worker, published=True, keys=["satisfied", "aware"])
    assert survey.published_keys == ["aware", "satisfied"]
    assert Survey.objects.get(pk=survey.pk).results_published


def test_quotas_by_age_band_of_the_household_head(sc, worker):
    survey = testing.make_survey(sc, quota_percent=50)
    hs = {h.unit_id: h for h in frame(survey)}
    assert hs[sc.units[0].pk].age_band == "80"  # 张建国, born 1941, the oldest of the flat
    answer(survey, hs[sc.units[0].pk], worker)
    bands = {b.band: b for b in selectors.by_age_band(survey)}
    assert bands["80"].report.response.numerator == 1 and not bands["80"].under_sampled
    assert bands[""].report.households == 9 and bands[""].under_sampled


def test_anonymous_answers_are_not_split_by_building(sc, worker):
    survey = testing.make_survey(sc, anonymous=True)
    for h in frame(survey)[:3]:
        answer(survey, h, worker)
    rows = selectors.by_building(survey)
    assert sum(r.report.response.numerator for r in rows) == 3
    assert all(r.report.awareness.denominator == 0 for r in rows)
