"""Sign-in safety (等保 level 2): lockout, password policy, idle timeout, second factor, SMS codes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from gongzhi.core import actions, limits, sms
from gongzhi.core.auth_backends import is_locked
from gongzhi.core.models import SmsCode
from gongzhi.core.sms import LocmemBackend
from testkit.world import PASSWORD, make_user

LOGIN = reverse("core:login")
OTP = reverse("core:otp")
SMS_LOGIN = reverse("core:sms-login")
MOBILE = "13912345678"


def sign_in(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- Lockout -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_five_failures_lock_the_account_even_for_the_right_password(client, persona):
    persona("community_worker", username="wang")
    for _ in range(settings.GONGZHI_LOCKOUT_ATTEMPTS - 1):
        response = sign_in(client, "wang", "wrong-password")
        assert "用户名或密码不正确" in response.content.decode()
    assert not is_locked("wang")

    sign_in(client, "wang", "wrong-password")  # the fifth failure locks
    assert is_locked("wang")

    response = sign_in(client, "wang", PASSWORD)
    body = response.content.decode()
    assert response.status_code == 200
    assert not is_signed_in(client)
    assert "已暂时锁定" in body and "15分钟" in body


@pytest.mark.django_db
def test_lock_expires_after_the_configured_minutes(client, persona, monkeypatch):
    persona("community_worker", username="wang")
    for _ in range(settings.GONGZHI_LOCKOUT_ATTEMPTS):
        sign_in(client, "wang", "nope")
    assert is_locked("wang")
    later = limits._now_ms() + (settings.GONGZHI_LOCKOUT_MINUTES * 60 + 1) * 1000
    monkeypatch.setattr(limits, "_now_ms", lambda: later)
    assert not is_locked("wang")
    sign_in(client, "wang", PASSWORD)
    assert is_signed_in(client)


@pytest.mark.django_db
def test_a_successful_sign_in_resets_the_failure_count(client, persona):
    persona("community_worker", username="wang")
    for _ in range(settings.GONGZHI_LOCKOUT_ATTEMPTS - 1):
        sign_in(client, "wang", "wrong-password")
    sign_in(client, "wang", PASSWORD)
    assert is_signed_in(client)
    assert limits.count(("signin", "wang")) == 0
    client.logout()
    for _ in range(settings.GONGZHI_LOCKOUT_ATTEMPTS - 1):
        sign_in(client, "wang", "wrong-password")
    assert not is_locked("wang")  # four new failures, not nine


@pytest.mark.django_db
def test_failures_count_per_user_name_case_insensitively(client, persona):
    persona("community_worker", username="wang")
    for name in ("wang", "WANG", "Wang", "wAng", "waNG"):
        sign_in(client, name, "wrong-password")
    assert is_locked("wang")


@pytest.mark.django_db
def test_lockout_applies_to_the_api_token_endpoint(client, persona):
    persona("community_worker", username="wang")
    url = reverse("api-token")
    for _ in range(settings.GONGZHI_LOCKOUT_ATTEMPTS):
        assert client.post(url, {"username": "wang", "password": "bad"}).status_code == 400
    response = client.post(url, {"username": "wang", "password": PASSWORD})
    assert response.status_code == 400
    assert "锁定" in response.json()["errors"][0]["message"]


# --- Password policy ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab1!x", "password_too_short"),  # under 10 characters
        ("abcdefghijkl", "password_too_simple"),  # one class only
        ("abcdefgh1234", "password_too_simple"),  # two classes
        ("password", "password_too_common"),
        ("12345678901234", "password_entirely_numeric"),
    ],
)
def test_password_policy_refuses_weak_passwords(password, code):
    with pytest.raises(ValidationError) as exc:
        password_validation.validate_password(password)
    assert code in {e.code for e in exc.value.error_list}


@pytest.mark.parametrize("password", [PASSWORD, "Zhengzhou-erqi-2026", "hUang#jia7yuan"])
def test_password_policy_accepts_strong_passwords(password):
    password_validation.validate_password(password)


def test_password_complexity_message_is_chinese_first():
    with pytest.raises(ValidationError) as exc:
        password_validation.validate_password("abcdefghijkl")
    messages = " ".join(exc.value.messages)
    assert "密码须包含" in messages and "lower case" in messages


# --- Session idle timeout ----------------------------------------------------------------------------------


def test_sessions_time_out_after_thirty_idle_minutes():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    # Requests renew it (an idle timeout, not a hard one), at most once a minute: IdleSessionMiddleware.
    assert "gongzhi.core.middleware.IdleSessionMiddleware" in settings.MIDDLEWARE
    assert settings.SESSION_COOKIE_HTTPONLY is True


def _stored_expiry(client):
    from django.contrib.sessions.models import Session

    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value).expire_date


@pytest.mark.django_db
def test_requests_renew_the_session_expiry_at_most_once_a_minute(client, persona, monkeypatch):
    """Within a minute of its last save an unchanged session is not written again; after a minute a request
    renews it, so it still ends 30 idle minutes (less at most one) after the last request."""
    from gongzhi.core import middleware

    persona("community_worker", username="wang")
    sign_in(client, "wang", PASSWORD)
    signed_in = _stored_expiry(client)
    now = time.time()
    monkeypatch.setattr(middleware.time, "time", lambda: now + 30)
    client.get(reverse("core:home"))
    assert _stored_expiry(client) == signed_in  # 30 s later: no write
    monkeypatch.setattr(middleware.time, "time", lambda: now + 61)
    client.get(reverse("core:home"))
    renewed = _stored_expiry(client)
    assert renewed > signed_in  # renewed from this request
    assert renewed - timezone.now() > timedelta(minutes=29)


# --- Second factor (TOTP) ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_registry_officer_must_enrol_and_verify_a_second_factor(client, persona, mini):
    officer = persona("registry_officer", username="officer")
    issued = actions.issue_enrolment_code(officer, actor=persona("district_admin", mini.district))
    sign_in(client, "officer", PASSWORD)
    home = reverse("core:home")

    response = client.get(home)
    assert response.status_code == 302
    assert response["Location"].startswith(OTP)

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "二次验证" in page.content.decode() and "绑定码" in page.content.decode()
    assert page.context["secret"] == ""  # the password alone shows no secret
    assert not TOTPDevice.objects.filter(user=officer).exists()

    response = client.post(f"{OTP}?next={home}", {"enrolment_code": issued.code})
    assert response.status_code == 302 and response["Location"] == f"{OTP}?next={home}"
    page = client.get(response["Location"])
    device = TOTPDevice.objects.get(user=officer, confirmed=False)
    assert page.context["secret"]  # the key to enter in an authenticator app

    wrong = f"{(totp(device.bin_key) + 1) % 10**6:06d}"
    response = client.post(f"{OTP}?next={home}", {"token": wrong})
    assert response.status_code == 200
    assert "动态验证码不正确" in response.content.decode()
    assert client.get(home).status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django_otp throttles guessing: 1 s, 2 s, 4 s… after failures
    device.throttle_reset()

    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"
    response = client.post(f"{OTP}?next={home}", {"token": code})
    assert response.status_code == 302 and response["Location"] == home
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(home).status_code == 200


@pytest.mark.django_db
def test_an_enrolled_officer_verifies_at_each_sign_in(client, persona):
    officer = persona("registry_officer", username="officer")
    device = TOTPDevice.objects.create(user=officer, name="app", confirmed=True)
    sign_in(client, "officer", PASSWORD)
    page = client.get(OTP)
    assert page.context["enrolling"] is False and page.context["secret"] == ""
    response = client.post(OTP, {"token": f"{totp(device.bin_key):06d}"})
    assert response.status_code == 302
    assert client.get(reverse("core:home")).status_code == 200


@pytest.mark.django_db
def test_the_next_parameter_cannot_send_the_user_off_site(client, persona):
    officer = persona("registry_officer", username="officer")
    device = TOTPDevice.objects.create(user=officer, name="app", confirmed=True)
    sign_in(client, "officer", PASSWORD)
    response = client.post(f"{OTP}?next=https://evil.example/", {"token": f"{totp(device.bin_key):06d}"})
    assert response["Location"] == reverse("core:home")


@pytest.mark.django_db
def test_a_community_worker_is_not_asked_for_a_second_factor(client, persona):
    persona("community_worker", username="worker")
    sign_in(client, "worker", PASSWORD)
    assert client.get(reverse("core:home")).status_code == 200


# --- SMS one-time codes ------------------------------------------------------------------------------------


def sent_code() -> str:
    text = LocmemBackend.outbox[-1]["text"]
    return next(tok for tok in __import__("re").findall(r"\d{6}", text))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_resident_signs_in_with_an_sms_code(client):
    resident = make_user("resident-li", phone=MOBILE)
    response = client.post(SMS_LOGIN, {"phone": "+86 139 1234 5678", "send": "1"})
    assert response.status_code == 302
    assert LocmemBackend.outbox[-1]["to"] == MOBILE
    code = sent_code()
    assert "验证码" in LocmemBackend.outbox[-1]["text"]
    response = client.post(SMS_LOGIN, {"code": code})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == resident.pk


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_wrong_sms_code_is_refused_and_counted(client):
    make_user("resident-li", phone=MOBILE)
    client.post(SMS_LOGIN, {"phone": MOBILE, "send": "1"})
    code = sent_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    response = client.post(SMS_LOGIN, {"code": wrong})
    assert response.status_code == 200
    assert "验证码不正确" in response.content.decode()
    assert not is_signed_in(client)
    assert SmsCode.objects.get(phone=MOBILE).attempts == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_code_dies_after_five_wrong_attempts(client):
    make_user("resident-li", phone=MOBILE)
    client.post(SMS_LOGIN, {"phone": MOBILE, "send": "1"})
    code = sent_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(sms.MAX_ATTEMPTS):
        client.post(SMS_LOGIN, {"code": wrong})
    client.post(SMS_LOGIN, {"code": code})
    assert not is_signed_in(client)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_resending_within_a_minute_is_throttled(client):
    make_user("resident-li", phone=MOBILE)
    client.post(SMS_LOGIN, {"phone": MOBILE, "send": "1"})
    client.get(f"{SMS_LOGIN}?restart=1")
    response = client.post(SMS_LOGIN, {"phone": MOBILE, "send": "1"})
    assert response.status_code == 200
    assert "1分钟后再试" in response.content.decode()
    assert len(LocmemBackend.outbox) == 1
