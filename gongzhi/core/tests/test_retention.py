"""The retention job (core.privacy): exactly the rows past their period lose their personal data, nothing else;
a dry run writes nothing; a second run finds nothing; the audit entry has counts, never a personal value."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone

from gongzhi.bulkywaste import actions as bulky
from gongzhi.bulkywaste.models import Booking, DumpingReport
from gongzhi.core import audit, privacy
from gongzhi.core.models import AuditEntry, OutgoingSms, SmsCode, Upload
from gongzhi.servicedesk import actions as desk
from gongzhi.servicedesk import testing as desk_testing
from gongzhi.servicedesk.models import ServiceRequest
from gongzhi.surveys import actions as surveys
from gongzhi.surveys.models import Response, SurveyHousehold
from testkit import bulkywaste as bw
from testkit import surveys as survey_testing
from testkit.world import make_user

ROOT = Path(__file__).resolve().parents[3]
# The day the job runs, far from the test's own clock: every age below is counted back from it.
RUN = timezone.make_aware(datetime(2027, 12, 1, 3, 0))
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00"
    b"\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def ago(days: float) -> datetime:
    return RUN - timedelta(days=days)


@pytest.fixture
def records(mini):
    """Rows of every kind, each either just past its period or just inside it (a day either side)."""
    r: dict = {}
    # One-time codes: 7 days.
    for key, age in (("code_old", 8), ("code_new", 6)):
        code = SmsCode.objects.create(phone="13900000001", code_hash="0" * 64, expires_at=ago(age))
        SmsCode.objects.filter(pk=code.pk).update(created_at=ago(age))
        r[key] = code.pk
    # Sessions: gone once expired.
    Session.objects.create(session_key="old" * 10, session_data="x", expire_date=ago(1))
    Session.objects.create(session_key="new" * 10, session_data="x", expire_date=RUN + timedelta(hours=1))
    # Bulky-waste bookings: 180 days after the pickup day of a finished or cancelled booking.
    bw.service_area(mini.subdistrict)
    operator = make_user("operator", "hotline_operator", mini.district)
    bookings = [bw.book_for(mini.units[i], actor=operator, contact_phone=f"1390000010{i}") for i in range(4)]
    day = RUN.date() - timedelta(days=181)
    Booking.objects.filter(pk=bookings[0].pk).update(status=Booking.Status.COLLECTED, day=day)
    Booking.objects.filter(pk=bookings[1].pk).update(status=Booking.Status.CANCELLED, day=day)
    Booking.objects.filter(pk=bookings[2].pk).update(status=Booking.Status.COLLECTED, day=day + timedelta(days=2))
    Booking.objects.filter(pk=bookings[3].pk).update(status=Booking.Status.BOOKED, day=day)  # still open: kept
    r["bookings"] = [b.pk for b in bookings]
    # Dumping reports: 180 days after the last change of a resolved one.
    reports = [
        bulky.report_dumping(
            actor=None,
            description="楼下有旧沙发",
            node=mini.courtyard,
            address="福华街12号",
            reporter_phone="13900000201",
        )
        for _ in range(3)
    ]
    DumpingReport.objects.filter(pk=reports[0].pk).update(status="resolved", updated_at=ago(181))
    DumpingReport.objects.filter(pk=reports[1].pk).update(status="resolved", updated_at=ago(179))
    DumpingReport.objects.filter(pk=reports[2].pk).update(status="new", updated_at=ago(400))
    r["reports"] = [x.pk for x in reports]
    # Service-desk requests: a year after completion of a closed one.
    cats = desk_testing.catalogue(mini.district)
    worker = make_user("cw", "community_worker", mini.community)
    reqs = [
        desk.submit_request(
            actor=worker,
            category=cats["stair_light"],
            description="楼道灯不亮",
            channel="door",
            node=mini.entrance,
            answers={"floor": "3"},
            requester_name="赵大爷",
            requester_phone=f"1390000030{i}",
        )
        for i in range(3)
    ]
    ServiceRequest.objects.filter(pk=reqs[0].pk).update(status="archived", completed_at=ago(366))
    ServiceRequest.objects.filter(pk=reqs[1].pk).update(status="archived", completed_at=ago(364))
    ServiceRequest.objects.filter(pk=reqs[2].pk).update(status="in_progress", completed_at=None, updated_at=ago(900))
    r["requests"] = [x.pk for x in reqs]
    # Survey responses: a year after submission; the paper form's scan goes with the link.
    sc = survey_testing.build(mini)
    survey = survey_testing.make_survey(sc)
    frame = list(SurveyHousehold.objects.filter(survey=survey).order_by("path", "label"))
    old = surveys.submit_response(
        survey, frame[0], actor=worker, answers={"aware": "no"}, channel="paper", scan=(PNG, "scan.png")
    )
    new = surveys.submit_response(
        survey, frame[1], actor=worker, answers={"aware": "no"}, channel="door", on_behalf_of=sc.people[1]
    )
    Response.objects.filter(pk=old.pk).update(submitted_at=ago(366))
    Response.objects.filter(pk=new.pk).update(submitted_at=ago(364))
    r["responses"] = [old.pk, new.pk]
    r["scan"] = old.scan_id
    # The message log: 180 days after a sent or failed message; one still retrying is never removed.
    OutgoingSms.objects.all().delete()  # what the actions above sent today
    logged = [
        OutgoingSms.objects.create(phone_masked="139****0401", phone_digest="d", text_shown="……", status=status)
        for status in ("sent", "failed", "sent", "retrying")
    ]
    for sms_row, days in zip(logged, (181, 200, 179, 400), strict=True):
        OutgoingSms.objects.filter(pk=sms_row.pk).update(created_at=ago(days))
    r["messages"] = [x.pk for x in logged]
    return r


def snapshot() -> dict:
    """Every personal column the job may touch, as it stands."""
    return {
        "codes": sorted(SmsCode.objects.values_list("pk", flat=True)),
        "sessions": sorted(Session.objects.values_list("session_key", flat=True)),
        "messages": sorted(OutgoingSms.objects.values_list("pk", "status")),
        "bookings": sorted(Booking.objects.values_list("pk", "contact_name", "contact_phone", "on_behalf_of_id")),
        "reports": sorted(DumpingReport.objects.values_list("pk", "reporter_phone", "reporter_id")),
        "requests": sorted(ServiceRequest.objects.values_list("pk", "requester_name", "requester_phone")),
        "responses": sorted(Response.objects.values_list("pk", "on_behalf_of_id", "scan_id", "answers")),
        "uploads": sorted(Upload.objects.values_list("pk", flat=True)),
        "audit": AuditEntry.objects.count(),
    }


@pytest.mark.django_db
def test_the_job_clears_exactly_what_is_past_its_period(records):
    counts = privacy.apply_retention(now=RUN, batch=1)  # batch=1: every row its own transaction

    assert counts == {
        "bulkywaste.booking_contact": 2,
        "bulkywaste.dumping_reporter": 1,
        "core.outgoing_sms": 2,
        "core.session": 1,
        "core.sms_code": 1,
        "servicedesk.requester": 1,
        "surveys.respondent": 1,
    }
    assert list(SmsCode.objects.values_list("pk", flat=True)) == [records["code_new"]]
    assert list(Session.objects.values_list("session_key", flat=True)) == ["new" * 10]
    assert sorted(OutgoingSms.objects.values_list("pk", flat=True)) == sorted(records["messages"][2:])
    b = {x.pk: x for x in Booking.objects.all()}
    cleared, kept = records["bookings"][:2], records["bookings"][2:]
    assert all(b[pk].contact_name == b[pk].contact_phone == "" for pk in cleared)
    assert all(b[pk].contact_phone and b[pk].contact_name for pk in kept)
    assert all(b[pk].address for pk in records["bookings"])  # the unit's address and the items stay
    d = {x.pk: x for x in DumpingReport.objects.all()}
    assert [d[pk].reporter_phone for pk in records["reports"]] == ["", "13900000201", "13900000201"]
    s = {x.pk: x for x in ServiceRequest.objects.all()}
    assert [s[pk].requester_phone for pk in records["requests"]] == ["", "13900000301", "13900000302"]
    assert s[records["requests"][0]].requester_name == "" and s[records["requests"][0]].description == "楼道灯不亮"
    old, new = (Response.objects.get(pk=pk) for pk in records["responses"])
    assert old.scan_id is None and not Upload.objects.filter(pk=records["scan"]).exists()
    assert old.answers == {"aware": "no"} and old.household_id is not None
    assert new.on_behalf_of_id is not None  # a day inside its year
    # Audited once, with counts and cutoffs only; the chain verifies.
    entry = AuditEntry.objects.get(action="privacy.apply_retention")
    assert entry.changes["counts"] == counts and entry.actor is None
    assert "1390000" not in json.dumps(entry.changes)
    assert list(audit.verify()) == []


@pytest.mark.django_db
def test_a_second_run_finds_nothing(records):
    privacy.apply_retention(now=RUN)
    before = snapshot()
    assert set(privacy.apply_retention(now=RUN).values()) == {0}
    assert {k: v for k, v in snapshot().items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}


@pytest.mark.django_db
def test_a_dry_run_counts_and_writes_nothing(records):
    before = snapshot()
    counts = privacy.apply_retention(now=RUN, dry_run=True)
    assert sum(counts.values()) == 9
    assert snapshot() == before  # not a row, not an audit entry

    out = StringIO()
    call_command("apply_retention", "--dry-run", "--now", RUN.isoformat(), stdout=out)
    text = out.getvalue()
    assert "bulkywaste.booking_contact: 180" in text and "→ would change 2" in text.replace("将处理 / ", "")
    assert "core.audit_log: 保留" in text and "dry run" in text
    assert snapshot() == before


@pytest.mark.django_db
def test_nothing_is_past_its_period_a_day_earlier(records):
    counts = privacy.apply_retention(now=RUN - timedelta(days=2), dry_run=True)
    # Only what has no age to speak of: the expired session (its expiry is the moment) and the 8-day-old code.
    assert counts["bulkywaste.booking_contact"] == counts["servicedesk.requester"] == 0
    assert counts["surveys.respondent"] == counts["bulkywaste.dumping_reporter"] == 0


@pytest.mark.django_db
def test_a_deployment_sets_its_own_periods(records, settings):
    settings.GONGZHI_RETENTION_DAYS = {"core.sms_code": 30, "bulkywaste.booking_contact": None}
    counts = privacy.apply_retention(now=RUN)
    assert counts["core.sms_code"] == 0 and "bulkywaste.booking_contact" not in counts
    assert SmsCode.objects.count() == 2


def test_every_period_has_its_rule_and_its_line_in_the_docs():
    rules = privacy.rules()
    doc = (ROOT / "docs" / "PRIVACY.md").read_text(encoding="utf-8")
    for kind, period in privacy.PERIODS.items():
        assert (kind in rules) == (period.days is not None), kind
        assert f"`{kind}`" in doc, f"{kind} missing from docs/PRIVACY.md"
        assert period.reason
    for kind in rules:
        assert kind in privacy.PERIODS
    timer = (ROOT / "deploy" / "systemd" / "gongzhi-apply-retention.timer").read_text(encoding="utf-8")
    assert "Unit=gongzhi-manage@apply_retention.service" in timer
