"""Limits that hold across processes: counted in the database before the check, so racing requests get
exactly the limit. The threaded tests need real concurrent connections (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from gongzhi.core import limits, sms
from gongzhi.core.auth_backends import is_locked
from gongzhi.core.models import AuditEntry, RateCounter, SmsCode
from gongzhi.core.sms import LocmemBackend
from testkit.race import race as run_together
from testkit.world import make_user

MOBILE = "13912345678"


def race(n: int, fn):
    """Run fn() n times at once, each on its own database connection; return the results (none may raise)."""
    results, errors = run_together(n, lambda _i: fn())
    assert errors == [None] * n, errors
    return results


# --- The counter ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_counter_counts_then_refuses_then_opens_a_new_window(monkeypatch):
    results = [limits.hit(("t", "a"), 3, 60) for _ in range(5)]
    assert [r.count for r in results] == [1, 2, 3, 4, 5]
    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert 1 <= results[-1].retry_after <= 60
    assert limits.hit(("t", "b"), 3, 60).count == 1  # another key, another count
    later = limits._now_ms() + 61_000
    monkeypatch.setattr(limits, "_now_ms", lambda: later)
    assert limits.hit(("t", "a"), 3, 60).count == 1


@pytest.mark.django_db
def test_counters_keep_no_name_in_clear_and_expired_ones_are_pruned(monkeypatch):
    limits.hit(("signin", "wang"), 5, 60)
    (row,) = RateCounter.objects.all()
    assert "wang" not in row.bucket and len(row.bucket) == 64
    later = limits._now_ms() + 120_000
    monkeypatch.setattr(limits, "_now_ms", lambda: later)
    monkeypatch.setattr(limits, "PRUNE_ONE_IN", 1)
    limits.hit(("other",), 5, 60)
    assert RateCounter.objects.count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_thirty_racing_hits_with_a_limit_of_five_let_exactly_five_through():
    results = race(30, lambda: limits.hit(("race",), 5, 60).allowed)
    assert results.count(True) == 5


# --- Sign-in ----------------------------------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_wrong_passwords_reach_the_password_check_five_times(monkeypatch):
    make_user("wang")
    checked = []
    real = ModelBackend.authenticate

    def counting(self, request, username=None, password=None, **kw):
        checked.append(username)
        return real(self, request, username=username, password=password, **kw)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    results = race(30, lambda: authenticate(None, username="wang", password="wrong"))
    assert results == [None] * 30
    assert len(checked) == settings.GONGZHI_LOCKOUT_ATTEMPTS
    assert is_locked("wang")


@pytest.mark.django_db
def test_a_lock_revokes_the_accounts_api_token_and_audits_it(client):
    user = make_user("wang")
    token = Token.objects.create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/notices/").status_code == 200
    for _ in range(settings.GONGZHI_LOCKOUT_ATTEMPTS):
        client.post("/accounts/login/", {"username": "wang", "password": "wrong"})
    assert not Token.objects.filter(user=user).exists()
    assert api.get("/api/v1/notices/").status_code == 401
    entry = AuditEntry.objects.get(action="core.revoke_api_tokens")
    assert entry.changes["reason"] == "locked" and entry.target_id == str(user.pk)


@pytest.mark.django_db
def test_a_new_password_revokes_the_accounts_api_tokens():
    user = make_user("wang")
    token = Token.objects.create(user=user)
    user.set_password("Another-Pass-2026!")
    user.save()
    assert not Token.objects.filter(pk=token.pk).exists()
    assert AuditEntry.objects.get(action="core.revoke_api_tokens").changes["reason"] == "password changed"


@pytest.mark.django_db
def test_the_token_endpoint_is_limited_per_address():
    client = APIClient()
    codes = [
        client.post("/api/v1/token/", {"username": f"u{i}", "password": "x"}, format="json").status_code
        for i in range(settings.GONGZHI_TOKEN_REQUESTS_PER_MINUTE + 2)
    ]
    assert codes[: settings.GONGZHI_TOKEN_REQUESTS_PER_MINUTE] == [400] * settings.GONGZHI_TOKEN_REQUESTS_PER_MINUTE
    assert codes[-2:] == [429, 429]


# --- SMS ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_unregistered_number_gets_the_same_answer_and_no_message(client):
    response = client.post("/accounts/sms/", {"phone": MOBILE, "send": "1"})
    assert response.status_code == 302 and LocmemBackend.outbox == [] and not SmsCode.objects.exists()
    make_user("li", phone="13812340000")
    registered = client.post("/accounts/sms/", {"phone": "13812340000", "send": "1"})
    assert registered.status_code == 302 and len(LocmemBackend.outbox) == 1


@pytest.mark.django_db(transaction=True)
@override_settings(GONGZHI_SMS_PER_ADDRESS_HOUR=3)
def test_sms_sending_is_limited_per_address_whatever_the_numbers(client):
    answers = [client.post("/accounts/sms/", {"phone": f"1391234000{i}", "send": "1"}) for i in range(5)]
    assert [a.status_code for a in answers[:3]] == [302, 302, 302]
    assert "过于频繁" in answers[3].content.decode() and "过于频繁" in answers[4].content.decode()


@pytest.mark.django_db(transaction=True)
@override_settings(GONGZHI_SMS_PER_NUMBER_DAY=2)
def test_sms_sending_is_limited_per_number_a_day(monkeypatch):
    make_user("li", phone=MOBILE)
    sms.issue_code(MOBILE)
    now = limits._now_ms()
    monkeypatch.setattr(limits, "_now_ms", lambda: now + 61_000)
    sms.issue_code(MOBILE)
    monkeypatch.setattr(limits, "_now_ms", lambda: now + 122_000)
    with pytest.raises(sms.CodeError) as e:
        sms.issue_code(MOBILE)
    assert "过于频繁" in e.value.zh and len(LocmemBackend.outbox) == 2


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_sms_guesses_are_compared_five_times():
    make_user("li", phone=MOBILE)
    sms.issue_code(MOBILE)
    code = LocmemBackend.outbox[-1]["text"].split("验证码是")[1][:6]
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    results = race(10, lambda: sms.check_code(MOBILE, "login", wrong))
    assert results == [False] * 10
    assert SmsCode.objects.get().attempts == sms.MAX_ATTEMPTS
    assert sms.check_code(MOBILE, "login", code) is False  # no guesses left, not even for the right code


# --- Anonymous writes ------------------------------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_dumping_reports_five_an_hour_hold_when_requests_race(mini):
    from gongzhi.bulkywaste.models import DumpingReport
    from testkit.bulkywaste import service_area

    service_area(mini.subdistrict)

    def report():
        return APIClient().post(
            "/api/v1/bulky/dumping-reports/", {"description": "楼下有旧沙发", "address": "福华街12号"}, format="json"
        )

    codes = [r.status_code for r in race(16, report)]
    assert codes.count(201) == 5 and codes.count(429) == 11
    assert DumpingReport.objects.count() == 5


@pytest.mark.django_db
@override_settings(GONGZHI_ANONYMOUS_WRITES_PER_HOUR=3)
def test_anonymous_writes_are_limited_per_address():
    client = Client()
    codes = [client.post("/accounts/login/", {"username": "x", "password": "y"}).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert APIClient().post("/api/v1/token/", {}, format="json").status_code == 429  # the JSON shape under /api/


def test_the_client_address_behind_proxies_is_the_one_the_nearest_proxy_saw(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.GONGZHI_PROXY_HOPS = 0
    assert limits.client_address(request) == "10.0.0.2"
    settings.GONGZHI_PROXY_HOPS = 1
    assert limits.client_address(request) == "203.0.113.7"  # "6.6.6.6" was written by the client itself
