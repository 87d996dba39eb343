"""SMS through a pluggable gateway, and one-time codes: expiry, purpose, single use, sent only on commit."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from gongzhi.core import limits, sms
from gongzhi.core.models import SmsCode
from gongzhi.core.sms import LocmemBackend
from testkit.world import make_user

MOBILE = "13912345678"


def sent_code() -> str:
    return re.findall(r"\d{6}", LocmemBackend.outbox[-1]["text"])[0]


def test_the_file_backend_appends_json_lines(tmp_path):
    outbox = tmp_path / "sms.jsonl"
    with override_settings(GONGZHI_SMS_OUTBOX=outbox):
        sms.FileBackend().send(MOBILE, "您好")
        sms.FileBackend().send("13812345678", "第二条")
    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert [(m["to"], m["text"]) for m in lines] == [(MOBILE, "您好"), ("13812345678", "第二条")]
    assert all(m["at"] for m in lines)


def test_the_console_backend_prints(capsys):
    sms.ConsoleBackend().send(MOBILE, "您好")
    assert f"[SMS to {MOBILE}] 您好" in capsys.readouterr().out


def test_the_backend_is_chosen_by_setting():
    with override_settings(GONGZHI_SMS_BACKEND="gongzhi.core.sms.ConsoleBackend"):
        assert isinstance(sms.backend(), sms.ConsoleBackend)


@pytest.fixture(autouse=True)
def _account_with_the_number(request):
    """Sign-in codes go only to numbers an account has."""
    if request.node.get_closest_marker("django_db"):
        request.getfixturevalue("transactional_db")
        make_user("resident-li", phone=MOBILE)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_code_is_sent_after_commit_and_only_its_hash_is_kept():
    sms.issue_code(MOBILE)
    code = sent_code()
    assert LocmemBackend.outbox[-1]["to"] == MOBILE
    assert "5分钟内有效" in LocmemBackend.outbox[-1]["text"]
    stored = SmsCode.objects.get(phone=MOBILE)
    assert code not in stored.code_hash and len(stored.code_hash) == 64


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_issuing_again_within_a_minute_is_refused():
    sms.issue_code(MOBILE)
    with pytest.raises(sms.CodeError) as exc:
        sms.issue_code(MOBILE)
    assert "1分钟后再试" in exc.value.zh and "minute" in exc.value.en
    assert len(LocmemBackend.outbox) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_resending_is_allowed_after_a_minute(monkeypatch):
    sms.issue_code(MOBILE)
    later = limits._now_ms() + (sms.RESEND_SECONDS + 1) * 1000
    monkeypatch.setattr(limits, "_now_ms", lambda: later)
    sms.issue_code(MOBILE)
    assert len(LocmemBackend.outbox) == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_expired_code_is_refused():
    sms.issue_code(MOBILE)
    code = sent_code()
    SmsCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert sms.check_code(MOBILE, "login", code) is False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_code_is_for_one_purpose_only():
    sms.issue_code(MOBILE, "vote")
    assert sms.check_code(MOBILE, "login", sent_code()) is False
    assert sms.check_code(MOBILE, "vote", sent_code()) is True


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_code_can_be_used_once():
    sms.issue_code(MOBILE)
    code = sent_code()
    assert [sms.check_code(MOBILE, "login", code), sms.check_code(MOBILE, "login", code)] == [True, False]


@pytest.mark.django_db
def test_no_sms_is_sent_when_the_transaction_rolls_back():

    with pytest.raises(RuntimeError), transaction.atomic():
        sms.send_sms(MOBILE, "不应发出")
        raise RuntimeError
    assert LocmemBackend.outbox == []


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_racing_requests_cannot_both_use_one_code():
    """Eight threads, each on its own connection, present the same valid code: exactly one succeeds."""
    assert connection.vendor == "postgresql"
    sms.issue_code(MOBILE)
    code = sent_code()
    barrier = threading.Barrier(8)
    results: list[bool] = []
    lock = threading.Lock()

    def attempt():
        from django.db import connections

        try:
            barrier.wait()
            ok = sms.check_code(MOBILE, "login", code)
            with lock:
                results.append(ok)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
