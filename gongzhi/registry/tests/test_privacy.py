"""A person's own data (PIPL Arts. 45, 47): the export holds what every part keeps about them; erasure leaves no
trace of their name, phone or ID number in any table, keeps what the law keeps, and the audit log verifies."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from gongzhi.core import audit
from gongzhi.core.models import AuditEntry, RoleAssignment, SmsCode, User
from gongzhi.registry import actions
from gongzhi.registry.models import Ownership, Person, Residence
from gongzhi.registry.tests.pages_helpers import ID_NUMBER, sign_in
from gongzhi.servicedesk import actions as desk
from gongzhi.servicedesk import testing as desk_testing
from gongzhi.surveys import actions as surveys
from gongzhi.surveys.models import Response, SurveyHousehold
from gongzhi.voting.models import VoterRollEntry
from testkit import bulkywaste as bw
from testkit import surveys as survey_testing
from testkit import voting as voting_testing
from testkit.world import make_user

NAME = "欧阳娜娜"
PHONE = "13911112222"
ACCOUNT_NAME = "娜娜（本人账号）"


@pytest.fixture
def officer(mini):
    return make_user("officer", "registry_officer", mini.community)


@pytest.fixture
def subject(mini, officer):
    """欧阳娜娜: designated voter of 201 and living there, with her own account, a bulky-waste booking, a
    service-desk request she filed herself, a survey answered door to door, and a place on an owners' vote's roll."""
    oc = voting_testing.build_owners_compound(mini)  # owners; 201's designated voter becomes our subject
    vote = voting_testing.open_vote_now(oc, officer)  # the roll is fixed now, before the survey's new flats
    sc = survey_testing.build(mini)  # one resident per flat
    unit = mini.units[2]
    person = oc.li
    actions.update_person(person, actor=None, name=NAME, phone=PHONE, id_number=ID_NUMBER)
    actions.add_residence(actor=None, unit=unit, person=person, relation="owner")
    account = make_user("nana", "resident", mini.courtyard, person=person, phone=PHONE, display_name=ACCOUNT_NAME)
    SmsCode.objects.create(phone=PHONE, code_hash="0" * 64, expires_at=timezone.now() + timedelta(minutes=5))

    bw.service_area(mini.subdistrict)
    operator = make_user("operator", "hotline_operator", mini.district)
    booking = bw.book_for(unit, actor=operator, contact_name=NAME, contact_phone=PHONE, on_behalf_of=person)

    cats = desk_testing.catalogue(mini.district)
    request = desk.submit_request(
        actor=account,
        category=cats["stair_light"],
        description="楼道灯不亮",
        channel="web",
        node=mini.entrance,
        answers={"floor": "3"},
    )

    survey = survey_testing.make_survey(sc)
    household = SurveyHousehold.objects.get(survey=survey, unit=unit)
    worker = make_user("cw", "community_worker", mini.community)
    response = surveys.submit_response(
        survey, household, actor=worker, answers={"aware": "yes", "satisfied": 5}, channel="door", on_behalf_of=person
    )

    return {
        "person": person,
        "account": account,
        "booking": booking,
        "request": request,
        "response": response,
        "vote": vote,
        "id_enc": Person.objects.get(pk=person.pk).id_number_enc,
        "id_hash": Person.objects.get(pk=person.pk).id_number_hash,
    }


def rows_containing(values: list[str]) -> list[str]:
    """Every row of every table (every installed model) whose text holds one of `values`: model, pk, field."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        fields = [f for f in model._meta.concrete_fields]
        names = [f.attname for f in fields]
        for row in model.objects.values_list("pk", *names):
            for name, value in zip(names, row[1:], strict=True):
                text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
                for v in values:
                    if v and v in text:
                        found.append(f"{model._meta.label}#{row[0]}.{name}")
    return found


@pytest.mark.django_db
def test_the_export_holds_the_persons_data_from_every_part(subject, officer):
    person = subject["person"]
    data = actions.export_person_data(person, actor=officer)
    sections = data["sections"]
    assert sections["registry.person"][0]["name"] == NAME
    assert sections["registry.person"][0]["phone"] == PHONE
    assert sections["registry.person"][0]["id_number"] == ID_NUMBER
    assert [o["unit_number"] for o in sections["registry.ownerships"]] == ["201"]
    assert [r["unit_number"] for r in sections["registry.residences"]] == ["201"]
    assert [a["username"] for a in sections["core.accounts"]] == ["nana"]
    assert [b["reference"] for b in sections["bulkywaste.bookings"]] == [subject["booking"].reference]
    assert sections["bulkywaste.bookings"][0]["contact_phone"] == PHONE
    assert [r["reference"] for r in sections["servicedesk.requests"]] == [subject["request"].reference]
    assert sections["servicedesk.requests"][0]["requester_name"] == NAME
    assert [r["answers"] for r in sections["surveys.responses"]] == [subject["response"].answers]
    assert len(sections["voting.roll"]) == VoterRollEntry.objects.filter(voter=person).count() >= 1
    json.dumps(data, ensure_ascii=False)  # plain JSON all through
    entry = AuditEntry.objects.filter(action="registry.export_person_data").get()
    assert entry.target_id == str(person.pk) and entry.actor == officer
    assert NAME not in json.dumps(entry.changes, ensure_ascii=False) and PHONE not in str(entry.changes)


@pytest.mark.django_db
def test_erasure_leaves_no_trace_in_any_table_and_the_audit_log_verifies(subject, officer):
    person, account = subject["person"], subject["account"]
    secrets = [NAME, PHONE, ID_NUMBER, ACCOUNT_NAME, subject["id_enc"], subject["id_hash"], "nana"]
    before = rows_containing(secrets)
    assert any(r.startswith("bulkywaste.Booking#") for r in before)  # the scan sees the copies it must clear
    assert any(r.startswith("servicedesk.ServiceRequest#") for r in before)
    audit_rows = AuditEntry.objects.count()

    counts = actions.erase_person(person, actor=officer, reason="本人书面申请（申请单 2026-017）")

    assert rows_containing(secrets) == []
    person.refresh_from_db()
    assert person.erased_at is not None and person.name == "" and person.get_id_number() == ""
    # What the law keeps is still there, pointing at the blank record.
    assert Ownership.objects.filter(person=person, is_designated_voter=True).count() == 1
    assert Residence.objects.filter(person=person).count() == 1
    assert VoterRollEntry.objects.filter(voter=person).exists()
    response = Response.objects.get(pk=subject["response"].pk)
    assert response.on_behalf_of_id is None and response.answers == subject["response"].answers
    assert response.household_id is not None  # the one-per-household guarantee stays
    # The account can no longer sign in and holds no role.
    account.refresh_from_db()
    assert not account.is_active and not account.has_usable_password()
    assert not RoleAssignment.objects.filter(user=account).exists()
    # The audit log: nothing rewritten, one entry more, every chain verifies (and so does the command).
    assert AuditEntry.objects.count() == audit_rows + 1
    assert list(audit.verify()) == []
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact" in out.getvalue()
    entry = AuditEntry.objects.get(action="registry.erase_person")
    assert entry.changes["counts"] == counts and counts["bulkywaste.bookings"] == 1
    assert counts["servicedesk.requests"] >= 1 and counts["surveys.responses"] == 1 and counts["core.accounts"] == 1


@pytest.mark.django_db
def test_erasure_needs_a_reason_and_the_capability_and_happens_once(subject, mini, officer):
    person = subject["person"]
    with pytest.raises(ValidationError) as e:
        actions.erase_person(person, actor=officer, reason="  ")
    assert "reason" in e.value.message_dict
    worker = make_user("worker2", "community_worker", mini.community)  # registry editor, but no pii.person_data
    with pytest.raises(PermissionDenied):
        actions.erase_person(person, actor=worker, reason="x")
    with pytest.raises(PermissionDenied):
        actions.export_person_data(person, actor=worker)
    far = make_user("far", "registry_officer", mini.other_subdistrict)  # the capability, out of scope
    with pytest.raises(PermissionDenied):
        actions.erase_person(person, actor=far, reason="x")
    Person.objects.filter(pk=person.pk).update(name=NAME)  # nothing happened so far
    actions.erase_person(person, actor=officer, reason="迁出")
    person.refresh_from_db()
    with pytest.raises((PermissionDenied, ValidationError)):
        actions.erase_person(person, actor=officer, reason="again")
    assert AuditEntry.objects.filter(action="registry.erase_person").count() == 1


@pytest.mark.django_db
def test_a_legal_person_is_not_erased_as_a_person(mini, officer):
    unit_owner = actions.create_person(
        actor=None, name="某某公司", kind=Person.Kind.LEGAL, home_path=mini.units[2].path
    )
    with pytest.raises(ValidationError):
        actions.erase_person(unit_owner, actor=officer, reason="x")


@pytest.mark.django_db
def test_the_person_page_offers_export_and_erase_to_those_who_may(client, subject, mini, officer):
    person = subject["person"]
    page = reverse("registry:person", args=[person.pk])
    sign_in(client, officer)
    body = client.get(page).content.decode()
    assert reverse("registry:person-export", args=[person.pk]) in body
    assert reverse("registry:person-erase", args=[person.pk]) in body
    assert NAME not in body and PHONE not in body  # masked: 欧阳**, 139****2222

    download = client.post(reverse("registry:person-export", args=[person.pk]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert json.loads(download.content)["sections"]["registry.person"][0]["phone"] == PHONE

    erase = reverse("registry:person-erase", args=[person.pk])
    missing = client.post(erase, {"reason": "", "confirm": "on"})
    assert missing.status_code == 400 and 'id="error-summary"' in missing.content.decode()
    unticked = client.post(erase, {"reason": "本人申请"})
    assert unticked.status_code == 400
    assert Person.objects.get(pk=person.pk).erased_at is None  # nothing half-written
    done = client.post(erase, {"reason": "本人申请", "confirm": "on"})
    assert done.status_code == 302 and done["Location"] == page
    assert Person.objects.get(pk=person.pk).erased_at is not None
    after = client.get(page).content.decode()
    assert erase not in after  # nothing left to erase
    assert client.get(erase).status_code == 403


@pytest.mark.django_db
def test_the_person_page_has_no_export_or_erase_for_a_worker(client, subject, mini):
    person = subject["person"]
    worker = make_user("worker3", "community_worker", mini.community)
    sign_in(client, worker)
    body = client.get(reverse("registry:person", args=[person.pk])).content.decode()
    assert reverse("registry:person-erase", args=[person.pk]) not in body
    assert client.post(reverse("registry:person-export", args=[person.pk])).status_code == 403
    assert client.get(reverse("registry:person-erase", args=[person.pk])).status_code == 403


@pytest.mark.django_db
def test_the_commands_export_and_erase(subject, officer, tmp_path):
    person = subject["person"]
    out = tmp_path / "p.json"
    call_command("export_person", str(person.pk), str(out), "--actor", "officer", stdout=StringIO())
    assert json.loads(out.read_text(encoding="utf-8"))["sections"]["registry.person"][0]["name"] == NAME
    call_command(
        "erase_person", str(person.pk), "--reason", "本人申请", "--actor", "officer", "--yes", stdout=StringIO()
    )
    person.refresh_from_db()
    assert person.erased_at is not None and rows_containing([NAME, PHONE]) == []
    assert User.objects.get(pk=subject["account"].pk).username == f"erased-{subject['account'].pk}"
