"""Second-factor enrolment needs an enrolment code (绑定码) handed over by an administrator: a stolen password
alone must not be enough to set up the authenticator. Codes: one-time, 72 hours, hashed, the newest only;
issued and reset by district administrators within their scope (superusers: anyone), audited."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from gongzhi.core import actions, limits
from gongzhi.core.audit import verify
from gongzhi.core.auth_backends import is_locked
from gongzhi.core.models import AuditEntry, EnrolmentCode
from testkit.race import race
from testkit.world import PASSWORD, make_user

LOGIN = reverse("core:login")
OTP = reverse("core:otp")
HOME = reverse("core:home")
STAFF = reverse("core:second-factor-users")


def sign_in(client, username: str) -> None:
    response = client.post(LOGIN, {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]


def sign_in_verified(client, user) -> None:
    """An administrator who has passed his own second factor (what django_otp.login stores in the session)."""
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="admin-phone", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()


def token(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


def enter_code(client, code: str):
    return client.post(OTP, {"enrolment_code": code})


def confirm(client, user):
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    return client.post(OTP, {"token": token(device)})


def body(response) -> str:
    return response.content.decode()


@pytest.fixture
def admin(persona, mini):
    return persona("district_admin", mini.district, username="admin")


@pytest.fixture
def officer(persona):
    return persona("registry_officer", username="officer")


# --- The officer's side: no secret without a code ------------------------------------------------------------


@pytest.mark.django_db
def test_no_secret_is_shown_with_the_password_alone(client, officer):
    sign_in(client, "officer")
    page = client.get(OTP)
    html = body(page)
    assert page.status_code == 200
    assert page.context["step"] == "code" and page.context["secret"] == ""
    assert "请向管理员领取8位绑定码" in html
    assert "otpauth://" not in html and 'class="secret"' not in html
    assert not TOTPDevice.objects.filter(user=officer).exists()

    # Skipping the code step by posting a token straight away gets nothing either.
    response = client.post(OTP, {"token": "123456"})
    assert response.status_code == 400
    assert "otpauth://" not in body(response)
    assert not TOTPDevice.objects.filter(user=officer).exists()
    assert client.get(HOME).status_code == 302  # still stopped at the second factor


@pytest.mark.django_db
def test_the_whole_flow_from_the_administrators_page_to_signing_in(client, admin, officer):
    """The district admin issues a code on his page; the officer enters it, sets up the app and is signed in."""
    from django.test import Client

    admin_client = Client()
    sign_in_verified(admin_client, admin)
    listing = admin_client.get(STAFF)
    assert listing.status_code == 200
    assert [row["user"] for row in listing.context["rows"]] == [officer]  # pending: needs a factor, none yet
    issued_page = admin_client.post(STAFF, {"user": officer.pk, "do": "issue"})
    assert issued_page.status_code == 200
    assert "no-store" in issued_page["Cache-Control"]  # shown once, not kept by the browser
    code = issued_page.context["issued"].code
    assert re.fullmatch(r"\d{8}", code) and issued_page.context["issued"].display in body(issued_page)

    sign_in(client, "officer")
    assert client.get(HOME)["Location"].startswith(OTP)
    response = client.post(f"{OTP}?next={HOME}", {"enrolment_code": f"{code[:4]} {code[4:]}"})  # as read out
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.context["step"] == "confirm" and page.context["secret"] and "otpauth://" in body(page)
    assert not EnrolmentCode.objects.get().used_at  # used up at confirmation, not when shown

    device = TOTPDevice.objects.get(user=officer, confirmed=False)
    response = client.post(f"{OTP}?next={HOME}", {"token": token(device)})
    assert response.status_code == 302 and response["Location"] == HOME
    assert client.get(HOME).status_code == 200
    assert TOTPDevice.objects.get(user=officer).confirmed
    assert EnrolmentCode.objects.get().used_at is not None
    actions_logged = list(
        AuditEntry.objects.filter(target_type="core.user", target_id=str(officer.pk))
        .order_by("id")
        .values_list("action", "actor")
    )
    assert actions_logged == [
        ("core.issue_enrolment_code", admin.pk),
        ("core.accept_enrolment_code", officer.pk),
        ("core.enrol_second_factor", officer.pk),
    ]
    assert list(verify()) == []

    # The next sign-in asks for the 6-digit code only.
    client.logout()
    sign_in(client, "officer")
    page = client.get(OTP)
    assert page.context["step"] == "verify" and "绑定码" not in body(page)


@pytest.mark.django_db
def test_entering_the_code_again_makes_a_new_secret_and_the_old_one_is_worthless(client, admin, officer):
    code = actions.issue_enrolment_code(officer, actor=admin).code
    sign_in(client, "officer")
    enter_code(client, code)
    first = TOTPDevice.objects.get(user=officer, confirmed=False)
    client.logout()
    sign_in(client, "officer")  # e.g. the session timed out half-way
    enter_code(client, code)
    second = TOTPDevice.objects.get(user=officer, confirmed=False)
    assert second.pk != first.pk and second.key != first.key
    assert client.post(OTP, {"token": token(first)}).status_code == 200  # the first secret's code is refused
    second.refresh_from_db()
    second.throttle_reset()  # django_otp makes the next try wait after a wrong one
    assert confirm(client, officer).status_code == 302


# --- Refused codes ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_wrong_code_is_refused_and_counted(client, admin, officer):
    code = actions.issue_enrolment_code(officer, actor=admin).code
    sign_in(client, "officer")
    response = enter_code(client, wrong_code(code))
    assert response.status_code == 400
    assert "绑定码不正确" in body(response) and response.context["secret"] == ""
    assert not TOTPDevice.objects.filter(user=officer).exists()
    assert limits.count(("signin", "officer")) == 1  # the sign-in lockout counts it
    assert EnrolmentCode.objects.get().attempts == 1  # and so does the code's own budget


@pytest.mark.django_db
def test_a_code_that_is_not_eight_digits_is_refused_without_counting(client, admin, officer):
    actions.issue_enrolment_code(officer, actor=admin)
    sign_in(client, "officer")
    response = enter_code(client, "12345")
    assert response.status_code == 400 and "请输入8位数字的绑定码" in body(response)
    assert EnrolmentCode.objects.get().attempts == 0


@pytest.mark.django_db
def test_an_expired_code_is_refused(client, admin, officer):
    issued = actions.issue_enrolment_code(officer, actor=admin)
    assert issued.expires_at - issued.record.created_at == timedelta(hours=72)
    EnrolmentCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    sign_in(client, "officer")
    response = enter_code(client, issued.code)
    assert response.status_code == 400 and "已过期" in body(response)
    assert not TOTPDevice.objects.filter(user=officer).exists()


@pytest.mark.django_db
def test_a_used_code_is_refused_after_a_reset(client, admin, officer):
    code = actions.issue_enrolment_code(officer, actor=admin).code
    sign_in(client, "officer")
    enter_code(client, code)
    assert confirm(client, officer).status_code == 302
    actions.reset_second_factor(officer, actor=admin)  # lost phone: a new code, the old one is spent
    client.logout()
    sign_in(client, "officer")
    response = enter_code(client, code)
    assert response.status_code == 400 and "已经用过" in body(response)
    assert not TOTPDevice.objects.filter(user=officer).exists()


@pytest.mark.django_db
def test_issuing_a_new_code_revokes_the_older_one(client, admin, officer):
    old = actions.issue_enrolment_code(officer, actor=admin).code
    new = actions.issue_enrolment_code(officer, actor=admin).code
    assert EnrolmentCode.objects.filter(user=officer, revoked_at__isnull=True, used_at__isnull=True).count() == 1
    sign_in(client, "officer")
    response = enter_code(client, old)
    assert response.status_code == 400 and "已作废" in body(response)
    assert enter_code(client, new).status_code == 302


@pytest.mark.django_db
def test_a_code_revoked_between_the_two_steps_stops_the_confirmation(client, admin, officer):
    code = actions.issue_enrolment_code(officer, actor=admin).code
    sign_in(client, "officer")
    enter_code(client, code)
    pending = TOTPDevice.objects.get(user=officer, confirmed=False)
    actions.issue_enrolment_code(officer, actor=admin)  # the administrator issues another meanwhile
    response = client.post(OTP, {"token": token(pending)})
    assert response.status_code == 302 and response["Location"] == OTP
    page = client.get(OTP)
    assert page.context["step"] == "code" and "绑定码已失效" in body(page)
    assert not TOTPDevice.objects.filter(user=officer, confirmed=True).exists()


@pytest.mark.django_db
def test_wrong_codes_lock_the_account_and_sign_out(client, admin, officer):
    code = actions.issue_enrolment_code(officer, actor=admin).code
    sign_in(client, "officer")
    for _ in range(settings.GONGZHI_LOCKOUT_ATTEMPTS - 1):
        assert enter_code(client, wrong_code(code)).status_code == 400
    response = enter_code(client, wrong_code(code))  # the fifth refusal locks
    assert response.status_code == 302 and response["Location"] == reverse("core:login")
    assert "_auth_user_id" not in client.session
    assert is_locked("officer")
    assert "已暂时锁定" in body(client.get(LOGIN))
    response = client.post(LOGIN, {"username": "officer", "password": PASSWORD})
    assert "_auth_user_id" not in client.session  # the password does not get through while locked
    assert AuditEntry.objects.filter(action="core.enrolment_code_exhausted", actor=officer).exists()


@pytest.mark.django_db
def test_signing_in_again_does_not_restore_a_codes_budget(client, admin, officer):
    """A password sign-in resets the lockout count, so the code keeps its own: five wrong codes and it is void."""
    code = actions.issue_enrolment_code(officer, actor=admin).code
    sign_in(client, "officer")
    for _ in range(actions.ENROLMENT_CODE_MAX_ATTEMPTS - 1):
        enter_code(client, wrong_code(code))
    client.logout()
    sign_in(client, "officer")  # resets the sign-in failures…
    assert limits.count(("signin", "officer")) == 0
    response = enter_code(client, wrong_code(code))  # …but not the code's
    assert "已作废" in body(response)
    response = enter_code(client, code)
    assert response.status_code == 400 and "已作废" in body(response)
    assert not TOTPDevice.objects.filter(user=officer).exists()


@pytest.mark.django_db
def test_a_user_with_an_authenticator_verifies_as_before(client, officer):
    device = TOTPDevice.objects.create(user=officer, name="app", confirmed=True)
    sign_in(client, "officer")
    page = client.get(OTP)
    assert page.context["step"] == "verify" and page.context["secret"] == ""
    assert client.post(OTP, {"token": token(device)}).status_code == 302
    assert client.get(HOME).status_code == 200


# --- The administrator's side: issue and reset, audited and scoped ---------------------------------------------


@pytest.mark.django_db
def test_issuing_stores_only_a_keyed_hash_and_audits_by_reference(admin, officer):
    issued = actions.issue_enrolment_code(officer, actor=admin)
    record = EnrolmentCode.objects.get()
    assert re.fullmatch(r"\d{8}", issued.code)
    assert issued.code not in record.code_hash and record.salt and len(record.code_hash) == 64
    assert record.issued_by == admin and record.user == officer
    entry = AuditEntry.objects.get(action="core.issue_enrolment_code")
    assert entry.actor == admin and entry.target_type == "core.user" and entry.target_id == str(officer.pk)
    assert entry.changes["code"] == record.pk and issued.code not in str(entry.changes)
    # the same code for another user (or with another salt) hashes differently
    other = actions._code_hash(admin.pk, record.salt, issued.code)
    assert other != record.code_hash


@pytest.mark.django_db
def test_reset_removes_the_authenticator_ends_verified_sessions_and_issues_a_code(client, admin, officer):
    sign_in_verified(client, officer)
    assert client.get(reverse("core:baseline")).status_code == 200
    issued = actions.reset_second_factor(officer, actor=admin)
    assert not TOTPDevice.objects.filter(user=officer).exists()
    assert client.get(reverse("core:baseline")).status_code == 302  # the lost phone's session must verify again
    entry = AuditEntry.objects.get(action="core.reset_second_factor")
    assert entry.actor == admin and entry.target_id == str(officer.pk) and len(entry.changes["devices_removed"]) == 1
    assert enter_code(client, issued.code).status_code == 302
    assert confirm(client, officer).status_code == 302


@pytest.mark.django_db
def test_an_enrolled_user_needs_a_reset_not_a_code(admin, officer):
    TOTPDevice.objects.create(user=officer, name="app", confirmed=True)
    with pytest.raises(ValidationError) as exc:
        actions.issue_enrolment_code(officer, actor=admin)
    assert "重置二次验证" in " ".join(exc.value.messages)
    assert not EnrolmentCode.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("actor_role", "actor_at", "target_at", "allowed"),
    [
        ("district_admin", "district", "community", True),
        ("district_admin", "subdistrict", "community", True),
        ("district_admin", "subdistrict", "other_subdistrict", False),  # outside his district
        ("community_worker", "community", "community", False),  # not an administrator at all
        ("registry_officer", "community", "community", False),
        ("subdistrict_staff", "district", "community", False),
    ],
)
def test_who_may_issue_and_reset_for_whom(persona, mini, actor_role, actor_at, target_at, allowed):
    actor = persona(actor_role, getattr(mini, actor_at), username="actor")
    target = persona("registry_officer", getattr(mini, target_at), username="target")
    for action in (actions.issue_enrolment_code, actions.reset_second_factor):
        if allowed:
            action(target, actor=actor)
        else:
            with pytest.raises(PermissionDenied):
                action(target, actor=actor)
    assert EnrolmentCode.objects.exists() == allowed
    assert AuditEntry.objects.filter(actor=actor, target_id=str(target.pk)).count() == (2 if allowed else 0)


@pytest.mark.django_db
def test_a_district_admin_cannot_take_over_superusers_himself_or_users_reaching_beyond_his_scope(persona, mini):
    from gongzhi.core.models import RoleAssignment

    admin = persona("district_admin", mini.subdistrict, username="sub-admin")
    root = make_user("root", is_superuser=True)
    both = persona("registry_officer", mini.community, username="both")
    RoleAssignment.objects.create(user=both, role="community_worker", node=mini.other_subdistrict)
    no_roles = make_user("no-roles")
    for target in (root, admin, both, no_roles):
        with pytest.raises(PermissionDenied):
            actions.issue_enrolment_code(target, actor=admin)
    # A superuser may, for anyone but himself.
    actions.issue_enrolment_code(admin, actor=root)
    with pytest.raises(PermissionDenied):
        actions.issue_enrolment_code(root, actor=root)


@pytest.mark.django_db
def test_the_page_is_for_administrators_and_refuses_users_outside_their_scope(client, persona, mini):
    worker = persona("community_worker", username="worker")
    sign_in_verified(client, worker)
    assert client.get(STAFF).status_code == 403
    assert client.post(STAFF, {"user": worker.pk, "do": "issue"}).status_code == 403

    client.logout()
    admin = persona("district_admin", mini.subdistrict, username="sub-admin")
    outsider = persona("registry_officer", mini.other_subdistrict, username="outsider")
    sign_in_verified(client, admin)
    assert outsider not in [row["user"] for row in client.get(STAFF).context["rows"]]
    assert client.get(STAFF, {"q": "outsider"}).context["rows"] == []
    assert client.post(STAFF, {"user": outsider.pk, "do": "issue"}).status_code == 403
    assert not EnrolmentCode.objects.exists()


@pytest.mark.django_db
def test_an_administrator_must_pass_his_own_second_factor_before_the_page(client, admin):
    client.force_login(admin)
    response = client.get(STAFF)
    assert response.status_code == 302 and response["Location"].startswith(OTP)


@pytest.mark.django_db
def test_reset_on_the_page_asks_first_then_shows_the_new_code(client, admin, officer):
    TOTPDevice.objects.create(user=officer, name="lost", confirmed=True)
    sign_in_verified(client, admin)
    found = client.get(STAFF, {"q": "officer"})
    assert [row["user"] for row in found.context["rows"]] == [officer] and found.context["rows"][0]["enrolled"]
    asking = client.get(STAFF, {"reset": officer.pk})
    assert "确定要重置" in body(asking) and TOTPDevice.objects.filter(user=officer).exists()
    done = client.post(STAFF, {"user": officer.pk, "do": "reset"})
    assert done.status_code == 200 and done.context["issued"].display in body(done)
    assert not TOTPDevice.objects.filter(user=officer).exists()
    refused = client.post(STAFF, {"user": officer.pk, "do": "nonsense"})
    assert refused.status_code == 400


@pytest.mark.django_db
def test_issuing_on_the_page_for_an_enrolled_user_says_to_reset(client, admin, officer):
    TOTPDevice.objects.create(user=officer, name="app", confirmed=True)
    sign_in_verified(client, admin)
    response = client.post(STAFF, {"user": officer.pk, "do": "issue"})
    assert response.status_code == 400 and "重置二次验证" in body(response)


@pytest.mark.django_db
def test_the_pending_list_costs_the_same_queries_for_few_and_many(client, admin, persona, mini):
    sign_in_verified(client, admin)
    persona("registry_officer", username="officer-0")
    client.get(STAFF)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(STAFF).context["rows"]) == 1
    for i in range(1, 8):
        officer = persona("registry_officer", username=f"officer-{i}")
        if i % 2:
            actions.issue_enrolment_code(officer, actor=admin)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(STAFF).context["rows"]) == 8
    assert len(many) == len(few)


@pytest.mark.django_db
def test_the_server_operator_bootstraps_the_first_superuser(client, mini):
    make_user("root", is_superuser=True, is_staff=True)
    out = StringIO()
    call_command("enrolment_code", "root", stdout=out)
    code = re.search(r"(\d{4}) (\d{4})", out.getvalue())
    entry = AuditEntry.objects.get(action="core.issue_enrolment_code")
    assert entry.actor is None and entry.actor_label == "system"
    sign_in(client, "root")
    assert enter_code(client, "".join(code.groups())).status_code == 302
    root = entry.target_id
    assert confirm(client, TOTPDevice.objects.get(user_id=root).user).status_code == 302


# --- Racing writers (PostgreSQL) ---------------------------------------------------------------------------------


def _race(n: int, work) -> tuple[list, list[BaseException]]:
    """testkit.race, as (results of the threads that returned, exceptions of those that raised)."""
    results, errors = race(n, work)
    return [r for r, e in zip(results, errors, strict=True) if e is None], [e for e in errors if e is not None]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_administrators_issuing_at_once_leave_exactly_one_live_code(persona, mini):
    assert connection.vendor == "postgresql"
    admins = [persona("district_admin", mini.district, username=f"admin-{k}") for k in range(4)]
    officer = persona("registry_officer", username="officer")
    issued, errors = _race(4, lambda k: actions.issue_enrolment_code(officer, actor=admins[k]).code)
    assert errors == [] and len(issued) == 4
    live = EnrolmentCode.objects.filter(user=officer, used_at__isnull=True, revoked_at__isnull=True)
    assert live.count() == 1
    assert AuditEntry.objects.filter(action="core.issue_enrolment_code").count() == 4
    assert list(verify()) == []


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_one_code_confirms_one_authenticator_when_two_sessions_race(persona, mini):
    assert connection.vendor == "postgresql"
    admin = persona("district_admin", mini.district, username="admin")
    officer = persona("registry_officer", username="officer")
    code = actions.issue_enrolment_code(officer, actor=admin).code
    record, device = actions.accept_enrolment_code(officer, code)

    def confirm_once(_k: int):
        try:
            return actions.confirm_enrolment(officer, code_id=record.pk, device_id=device.pk, token=token(device))
        except actions.EnrolmentCodeError as exc:
            return exc.reason

    results, errors = _race(4, confirm_once)
    assert errors == []
    assert sum(isinstance(r, TOTPDevice) for r in results) == 1
    assert TOTPDevice.objects.filter(user=officer, confirmed=True).count() == 1
    assert AuditEntry.objects.filter(action="core.enrol_second_factor").count() == 1
