"""What residents are told by SMS, and when: booked, changed, cancelled, planned, reminded, finished.

The texts live here so every message a resident may get can be read in one place. A landline cannot take a
message; the hotline calls back.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from gongzhi.bulkywaste.models import Booking
from gongzhi.bulkywaste.selectors import cutoff
from gongzhi.core import audit, pii
from gongzhi.core.sms import send_sms

ETA_CHANGE_NOTICE = timedelta(minutes=30)


def send(phone: str, text: str) -> None:
    if phone and pii.MOBILE_RE.match(phone):  # a landline cannot take a message; the hotline calls back
        send_sms(phone, f"【共治】{text}")


def when(booking: Booking) -> str:
    return f"{booking.day.month}月{booking.day.day}日 {booking.window_label}"


def rating_url(booking: Booking) -> str:
    """The rating link for the SMS (absolute when the deployment sets GONGZHI_SITE_URL)."""
    return settings.GONGZHI_SITE_URL.rstrip("/") + reverse("bulkywaste:rate", args=[booking.rating_token])


def booked(booking: Booking) -> None:
    send(
        booking.contact_phone,
        f"大件垃圾上门回收已预约，编号{booking.reference}，上门时间{when(booking)}。"
        f"如需修改或取消，请在{cutoff(booking.area, booking.day):%m月%d日%H:%M}前办理。"
        f"咨询电话{settings.GONGZHI_HOTLINE}",
    )


def booked_urgent(booking: Booking) -> None:
    send(booking.contact_phone, f"大件垃圾加急收运已安排，编号{booking.reference}，今天{booking.window_label}上门。")


def amended(booking: Booking) -> None:
    send(booking.contact_phone, f"您的大件垃圾预约{booking.reference}已修改，上门时间{when(booking)}。")


def cancelled(booking: Booking) -> None:
    send(booking.contact_phone, f"您的大件垃圾预约{booking.reference}已取消。")


def finished(booking: Booking) -> None:
    label = Booking.Status(booking.status).label
    send(
        booking.contact_phone,
        f"您的大件垃圾预约{booking.reference}：{label}。请为本次服务评分：{rating_url(booking)}",
    )


def planned(booking: Booking, eta) -> None:
    send(
        booking.contact_phone,
        f"您的大件垃圾预约{booking.reference}已排班：{booking.day.month}月{booking.day.day}日，"
        f"预计{timezone.localtime(eta):%H:%M}前后上门（时段{booking.window_label}）。",
    )


def send_reminders(*, today: date | None = None) -> int:
    """SMS the contacts of tomorrow's bookings, once each (the flag is set by a conditional UPDATE)."""
    today = today or timezone.localdate()
    tomorrow = today + timedelta(days=1)
    sent = 0
    for booking in Booking.objects.filter(day=tomorrow, status__in=Booking.OPEN, reminder_sent_at__isnull=True):
        with transaction.atomic():
            if Booking.objects.filter(pk=booking.pk, reminder_sent_at__isnull=True).update(
                reminder_sent_at=timezone.now()
            ):
                eta = f"，预计{timezone.localtime(booking.planned_eta):%H:%M}前后" if booking.planned_eta else ""
                send(
                    booking.contact_phone,
                    f"提醒：明天{when(booking)}{eta}上门收运大件垃圾（编号{booking.reference}），"
                    f"请将物品放在约定位置。",
                )
                audit.record("bulky.remind", booking, actor=None, changes={"day": booking.day})
                sent += 1
    return sent


@task()
def send_reminders_task() -> int:
    return send_reminders()
