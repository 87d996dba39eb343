"""Text messages as tracked background jobs: recorded in the sender's transaction and queued after commit, sent
under the job's lock, retried with a growing pause when the gateway fails, then failed and reported — never left
"sending" — and kept on record with the number masked and the code hidden."""

from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from gongzhi.core import jobs, sms
from gongzhi.core.models import JobRun, OutgoingSms
from gongzhi.core.sms import LocmemBackend
from testkit.permissions import signed_in_client
from testkit.world import make_user

MOBILE = "13912345678"
pytestmark = pytest.mark.django_db


class DownGateway(sms.BaseBackend):
    """A gateway that is down: every send raises, as a timeout or an HTTP 5xx from the provider would."""

    tries: list[str] = []

    def send(self, phone: str, text: str) -> None:
        DownGateway.tries.append(phone)
        raise ConnectionError("gateway unreachable")


GATEWAY_DOWN = override_settings(GONGZHI_SMS_BACKEND=f"{__name__}.DownGateway", GONGZHI_SMS_MAX_ATTEMPTS=3)


@pytest.fixture(autouse=True)
def _fresh_gateway():
    DownGateway.tries = []


def committed_send(capture, *args, **kwargs) -> OutgoingSms:
    """send_sms inside a transaction that commits: its on-commit hand-over to the task worker runs."""
    with capture(execute=True), transaction.atomic():
        message = sms.send_sms(*args, **kwargs)
    message.refresh_from_db()
    return message


def test_a_message_is_recorded_queued_then_sent_by_the_job_and_its_clear_copy_wiped(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as queued, transaction.atomic():
        message = sms.send_sms(MOBILE, "【共治】您的预约已受理")
    message.refresh_from_db()
    assert message.status == OutgoingSms.Status.QUEUED and LocmemBackend.outbox == []  # not sent before commit
    assert len(queued) == 1
    queued[0]()  # the commit hands it to the task worker (the immediate backend in tests runs it at once)
    message.refresh_from_db()
    assert LocmemBackend.outbox == [{"to": MOBILE, "text": "【共治】您的预约已受理"}]
    assert message.status == OutgoingSms.Status.SENT and message.attempts == 1 and message.sent_at
    assert message.phone_masked == "139****5678" and message.phone_sealed == "" and message.text_sealed == ""
    assert JobRun.objects.get(kind="sms", object_id=message.pk).status == JobRun.Status.DONE


def test_a_rolled_back_transaction_records_and_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        with pytest.raises(RuntimeError), transaction.atomic():
            sms.send_sms(MOBILE, "不应发出")
            raise RuntimeError("the action failed after queueing its message")
    assert queued == [] and LocmemBackend.outbox == []
    assert not OutgoingSms.objects.exists() and not JobRun.objects.exists()


def test_a_sign_in_code_arrives_but_the_record_keeps_neither_code_nor_number(django_capture_on_commit_callbacks):
    make_user("resident-li", phone=MOBILE)
    with django_capture_on_commit_callbacks(execute=True):
        sms.issue_code(MOBILE)
    code = re.findall(r"\d{6}", LocmemBackend.outbox[-1]["text"])[0]
    message = OutgoingSms.objects.get()
    assert message.kind == "code" and message.status == OutgoingSms.Status.SENT
    assert "验证码是******" in message.text_shown
    stored = " ".join(str(v) for v in OutgoingSms.objects.values().get().values())
    assert code not in stored and MOBILE not in stored
    assert sms.check_code(MOBILE, "login", code) is True


@GATEWAY_DOWN
def test_a_failing_gateway_is_retried_with_growing_pauses_then_the_message_is_failed_and_reported(
    django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.WARNING, logger="gongzhi.core.sms")
    message = committed_send(django_capture_on_commit_callbacks, MOBILE, "【共治】明天上门收运")
    assert message.status == OutgoingSms.Status.RETRYING and message.attempts == 1
    assert "gateway unreachable" in message.error and message.text_sealed  # kept sealed for the next try
    first_pause = message.next_attempt_at - timezone.now()
    assert timedelta(seconds=25) < first_pause <= sms.backoff(1)

    # Not due yet: the sweep leaves it alone.
    assert sms.retry_due() == []
    # Due (past the grace period): the sweep queues it again and the job tries once more.
    later = message.next_attempt_at + sms.backoff(1)
    assert sms.retry_due(now=later) == [message.pk]
    message.refresh_from_db()
    assert message.status == OutgoingSms.Status.RETRYING and message.attempts == 2
    assert sms.backoff(2) == 4 * sms.backoff(1)  # each pause four times the last

    assert sms.retry_due(now=message.next_attempt_at + sms.backoff(2)) == [message.pk]
    message.refresh_from_db()
    assert message.status == OutgoingSms.Status.FAILED and message.attempts == 3  # GONGZHI_SMS_MAX_ATTEMPTS
    assert message.phone_sealed == "" and message.text_sealed == "" and message.next_attempt_at is None
    assert len(DownGateway.tries) == 3 and LocmemBackend.outbox == []
    run = JobRun.objects.get(kind="sms", object_id=message.pk)
    assert run.status == JobRun.Status.FAILED and "GatewayGaveUp" in run.error  # the job says failed too
    assert any("given up" in r.getMessage() and "139****5678" in r.getMessage() for r in caplog.records)
    assert MOBILE not in caplog.text

    # Given up for good: a later sweep or a stray duplicate job sends nothing.
    assert sms.retry_due(now=later + timedelta(days=1)) == []
    assert sms.deliver_sms.call(message.pk) == OutgoingSms.Status.FAILED and len(DownGateway.tries) == 3
    assert not OutgoingSms.objects.filter(status=OutgoingSms.Status.SENDING).exists()


def test_a_retry_after_the_gateway_recovers_sends_once(django_capture_on_commit_callbacks):
    with GATEWAY_DOWN:
        message = committed_send(django_capture_on_commit_callbacks, MOBILE, "【共治】工单已办结")
    assert message.status == OutgoingSms.Status.RETRYING
    assert sms.retry_due(now=message.next_attempt_at + timedelta(minutes=5)) == [message.pk]
    message.refresh_from_db()
    assert message.status == OutgoingSms.Status.SENT and message.attempts == 2 and message.error == ""
    assert LocmemBackend.outbox == [{"to": MOBILE, "text": "【共治】工单已办结"}]
    assert sms.deliver_sms.call(message.pk) == OutgoingSms.Status.SENT  # a duplicate job does not send again
    assert len(LocmemBackend.outbox) == 1


@override_settings(GONGZHI_SMS_BACKEND=f"{__name__}.DownGateway", GONGZHI_SMS_MAX_ATTEMPTS=10)
def test_a_code_the_gateway_cannot_take_in_time_is_given_up_not_sent_late(django_capture_on_commit_callbacks):
    make_user("resident-li", phone=MOBILE)
    with django_capture_on_commit_callbacks(execute=True):
        sms.issue_code(MOBILE)
    message = OutgoingSms.objects.get()
    assert message.status == OutgoingSms.Status.RETRYING  # 30 s later still within the code's 5 minutes
    sms.retry_due(now=message.next_attempt_at + timedelta(seconds=31))
    message.refresh_from_db()
    # The pause after the second try (2 min) still ends in time; after the third (8 min) it would not.
    assert message.status == OutgoingSms.Status.RETRYING and message.attempts == 2
    sms.retry_due(now=message.next_attempt_at + timedelta(seconds=31))
    message.refresh_from_db()
    assert message.status == OutgoingSms.Status.FAILED and message.attempts == 3 < 10
    assert "gateway unreachable" in message.error and LocmemBackend.outbox == []

    # A code whose worker only gets to it after it expired is not sent at all.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        late = sms.send_sms(
            MOBILE,
            "【共治】您的验证码是123456",
            kind="code",
            conceal=("123456",),
            expires_at=timezone.now() - timedelta(seconds=1),
        )
    queued[0]()
    late.refresh_from_db()
    assert late.status == OutgoingSms.Status.FAILED and "expired" in late.error and late.attempts == 1
    assert len(DownGateway.tries) == 3 and "123456" not in late.text_shown


def test_a_message_whose_worker_died_mid_send_is_retried_then_reported_never_left_sending(
    django_capture_on_commit_callbacks,
):
    with GATEWAY_DOWN:
        message = committed_send(django_capture_on_commit_callbacks, MOBILE, "【共治】您的预约已修改")
    # What a worker killed mid-send leaves: the message claimed (sending) and its run marked running, while its
    # lock — released by the kernel or the database with the dead process — is free.
    OutgoingSms.objects.filter(pk=message.pk).update(status=OutgoingSms.Status.SENDING)
    JobRun.objects.filter(kind="sms", object_id=message.pk).update(status=JobRun.Status.RUNNING)
    assert jobs.reap() == [("sms", message.pk, "retried")]
    message.refresh_from_db()  # queued again at once, and sent by the (immediate) worker: the gateway is back
    assert message.status == OutgoingSms.Status.SENT and LocmemBackend.outbox[-1]["to"] == MOBILE

    with GATEWAY_DOWN:
        again = committed_send(django_capture_on_commit_callbacks, MOBILE, "【共治】您的预约已取消")
    OutgoingSms.objects.filter(pk=again.pk).update(status=OutgoingSms.Status.SENDING)
    JobRun.objects.filter(kind="sms", object_id=again.pk).update(
        status=JobRun.Status.RUNNING, attempts=jobs.MAX_ATTEMPTS
    )
    assert jobs.reap() == [("sms", again.pk, "reported")]
    again.refresh_from_db()
    assert again.status == OutgoingSms.Status.FAILED and "died" in again.error and again.text_sealed == ""
    assert not OutgoingSms.objects.filter(status=OutgoingSms.Status.SENDING).exists()


def test_a_queued_message_whose_hand_over_was_lost_is_queued_again_by_the_sweep():
    with transaction.atomic():
        message = OutgoingSms.objects.create(
            phone_masked="139****5678",
            phone_digest="x",
            phone_sealed=sms.crypto.encrypt(MOBILE, context=sms._SEAL_PHONE),
            text_sealed=sms.crypto.encrypt("【共治】测试", context=sms._SEAL_TEXT),
            text_shown="【共治】测试",
        )  # recorded, but the process died before on-commit handed it over
    assert sms.retry_due() == []  # young: may still be in the worker's queue
    assert sms.retry_due(now=timezone.now() + timedelta(minutes=10)) == [message.pk]
    message.refresh_from_db()
    assert message.status == OutgoingSms.Status.SENT and LocmemBackend.outbox == [
        {"to": MOBILE, "text": "【共治】测试"}
    ]


def test_the_message_log_is_read_only_and_shows_no_code_to_the_district_admin(mini, django_capture_on_commit_callbacks):
    make_user("resident-li", phone=MOBILE)
    with django_capture_on_commit_callbacks(execute=True):
        sms.issue_code(MOBILE)
    code = re.findall(r"\d{6}", LocmemBackend.outbox[-1]["text"])[0]
    message = OutgoingSms.objects.get()
    admin = make_user("admin-d", "district_admin", mini.district, is_staff=True)
    client = signed_in_client(admin)
    for url in ("/admin/core/outgoingsms/", f"/admin/core/outgoingsms/{message.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "139****5678" in html and code not in html and MOBILE not in html, url
    found = client.get("/admin/core/outgoingsms/", {"q": MOBILE}).content.decode()
    assert f"/admin/core/outgoingsms/{message.pk}/change/" in found  # a full number finds its messages by hash
    other = client.get("/admin/core/outgoingsms/", {"q": "13800000000"}).content.decode()
    assert f"/admin/core/outgoingsms/{message.pk}/change/" not in other
    assert client.get("/admin/core/outgoingsms/add/").status_code == 403
    worker = make_user("worker-c", "community_worker", mini.community, is_staff=True)
    assert signed_in_client(worker).get("/admin/core/outgoingsms/").status_code == 403


@contextmanager
def not_handed_over():
    """send_sms outside a transaction, with the on-commit hand-over to the task worker left out (the test runs the
    job itself, on a thread of its own)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sms, "enqueue", lambda *a, **k: True)
        yield


class StuckGateway(sms.BaseBackend):
    """The first send hangs (its worker is killed meanwhile); later sends go through."""

    calls: list[str] = []
    entered = threading.Event()
    release = threading.Event()
    pids: list[int] = []

    def send(self, phone: str, text: str) -> None:
        StuckGateway.calls.append(text)
        if len(StuckGateway.calls) == 1:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                StuckGateway.pids.append(cur.fetchone()[0])
            StuckGateway.entered.set()
            StuckGateway.release.wait(30)
            return
        LocmemBackend.outbox.append({"to": phone, "text": text})


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@override_settings(GONGZHI_SMS_BACKEND=f"{__name__}.StuckGateway")
def test_postgres_a_worker_killed_mid_send_is_found_and_the_message_sent_on_the_retry():
    """A real worker thread holds the message's lock on its own connection while the gateway hangs; the server
    drops that connection (the worker died with it). The message is left "sending" only until reap_jobs."""
    from gongzhi.core.tests.test_faults import terminate

    StuckGateway.calls, StuckGateway.pids = [], []
    StuckGateway.entered.clear()
    StuckGateway.release.clear()
    with not_handed_over():
        message = sms.send_sms(MOBILE, "【共治】您的工单已派单")

    def worker():
        try:
            sms.deliver_sms.call(message.pk)
        except Exception:
            pass  # its connection is gone: it cannot even record what happened
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    assert StuckGateway.entered.wait(30)
    assert jobs.reap() == []  # alive: its lock is held
    terminate(StuckGateway.pids[0])
    StuckGateway.release.set()
    thread.join(30)
    message.refresh_from_db()
    assert message.status == OutgoingSms.Status.SENDING  # what the dead worker left behind
    assert jobs.reap() == [("sms", message.pk, "retried")]
    message.refresh_from_db()
    assert message.status == OutgoingSms.Status.SENT and message.attempts == 2
    assert LocmemBackend.outbox == [{"to": MOBILE, "text": "【共治】您的工单已派单"}]
