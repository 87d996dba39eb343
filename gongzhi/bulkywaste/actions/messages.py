"""What residents are told by SMS, and when: booked, changed, cancelled, planned, reminded, finished.

The texts live here so every message a resident may get can be read in one place. A landline cannot take a
message; the hotline calls back.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from gongzhi.bulkywaste.models import Booking
from gongzhi.bulkywaste.selectors import cutoff
from gongzhi.core import audit, pii
from gongzhi.core.sms import send_sms


def send(phone: str, text: str, *, conceal: tuple[str, ...] = ()) -> None:
    if phone and pii.MOBILE_RE.match(phone):  # a landline cannot take a message; the hotline calls back
        send_sms(phone, f"【共治】{text}", kind="bulky", conceal=conceal)


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
        conceal=(booking.rating_token,),  # the link signs the resident in to rate: not kept in the record
    )


def eta_margin() -> timedelta:
    """A re-plan after the resident was told tells them again only if the arrival moves by more than this
    (GONGZHI_BULKY_ETA_MARGIN_MINUTES, default 30)."""
    return timedelta(minutes=int(getattr(settings, "GONGZHI_BULKY_ETA_MARGIN_MINUTES", 30)))


def day_is_fixed(booking: Booking, now: datetime) -> bool:
    """The day is fixed at the area's cut-off (e.g. 18:00 the day before): residents can no longer change it, so
    that is when they are told the time. Re-plans before it send nothing."""
    return now >= cutoff(booking.area, booking.day)


def _eta_text(eta: datetime | None) -> str:
    return f"，预计{timezone.localtime(eta):%H:%M}前后" if eta else ""


def tell_fixed(booking: Booking, eta: datetime | None, now: datetime) -> bool:
    """Tell the resident the day and expected time, once (a conditional UPDATE claims the message)."""
    if not Booking.objects.filter(pk=booking.pk, reminder_sent_at__isnull=True).update(
        reminder_sent_at=now, notified_eta=eta
    ):
        return False
    booking.reminder_sent_at, booking.notified_eta = now, eta
    tomorrow = booking.day == timezone.localdate(now) + timedelta(days=1)
    day = "明天" if tomorrow else f"{booking.day.month}月{booking.day.day}日"
    send(
        booking.contact_phone,
        f"您的大件垃圾预约{booking.reference}：{day}{booking.window_label}上门收运{_eta_text(eta)}，"
        f"请将物品放在约定位置。",
    )
    audit.record("bulky.tell_fixed", booking, actor=None, changes={"day": booking.day, "eta": eta})
    return True


def tell_if_moved(booking: Booking, eta: datetime | None, now: datetime) -> bool:
    """After the resident was told: a new arrival time more than the margin away is told as a change, once per
    change (the told time is replaced by a conditional UPDATE)."""
    told = booking.notified_eta
    if booking.reminder_sent_at is None or eta is None or told is None or abs(eta - told) <= eta_margin():
        return False
    if not Booking.objects.filter(pk=booking.pk, notified_eta=told).update(notified_eta=eta):
        return False
    booking.notified_eta = eta
    send(
        booking.contact_phone,
        f"时间有变：您的大件垃圾预约{booking.reference}（{when(booking)}）预计上门时间由"
        f"{timezone.localtime(told):%H:%M}改为{timezone.localtime(eta):%H:%M}前后。",
    )
    audit.record("bulky.tell_moved", booking, actor=None, changes={"eta": [told, eta]})
    return True


def after_plan(booking: Booking, eta: datetime | None, now: datetime) -> None:
    """What a (re-)plan tells a resident: nothing before the cut-off; once when the day is fixed; then only a
    move beyond the margin."""
    if eta is None or not day_is_fixed(booking, now):
        return
    if booking.reminder_sent_at is None:
        tell_fixed(booking, eta, now)
    else:
        tell_if_moved(booking, eta, now)


def send_reminders(*, today: date | None = None, now: datetime | None = None) -> int:
    """Tell the contacts of tomorrow's bookings their day and time, once each — only after the day is fixed
    (the area's cut-off). Run every ten minutes (each area's cut-off may differ); `today` pretends a day (its end)."""
    if now is None:
        now = (
            timezone.make_aware(datetime.combine(today, time(23, 59)))
            if today is not None and today != timezone.localdate()
            else timezone.now()
        )
    today = today or timezone.localdate(now)
    sent = 0
    for booking in Booking.objects.filter(
        day=today + timedelta(days=1), status__in=Booking.OPEN, reminder_sent_at__isnull=True
    ).select_related("area"):
        if not day_is_fixed(booking, now):
            continue
        with transaction.atomic():
            sent += tell_fixed(booking, booking.planned_eta, now)
    return sent


@task()
def send_reminders_task() -> int:
    return send_reminders()
