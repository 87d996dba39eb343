"""Illegal dumping (乱丢大件垃圾): anyone reports, the community's queue assigns and resolves."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.dispatch import Signal

from gongzhi.bulkywaste.actions.booking import next_reference
from gongzhi.bulkywaste.inputs import BookingError, parse_coords
from gongzhi.bulkywaste.models import DumpingReport, ServiceArea
from gongzhi.bulkywaste.selectors import area_for
from gongzhi.core import audit, pii
from gongzhi.core.gate import require
from gongzhi.core.models import Upload
from gongzhi.core.uploads import UploadError, store_upload
from gongzhi.registry.models import AreaNode

if TYPE_CHECKING:
    from gongzhi.core.models import User


# Sent inside report_dumping's transaction with report= and node=; the service desk turns it into a request.
dumping_reported = Signal()


@transaction.atomic
def report_dumping(
    *,
    actor: User | None,
    description: str,
    node: AreaNode | None = None,
    address: str = "",
    latitude: Decimal | float | str | None = None,
    longitude: Decimal | float | str | None = None,
    photo: tuple[bytes, str] | None = None,
    reporter_phone: str = "",
) -> DumpingReport:
    """乱丢大件垃圾: anyone may report, signed in or not; the community's queue takes it."""
    description = (description or "").strip()
    if not description:
        raise BookingError("请描述看到的情况", "describe what you saw", "description")
    if not (address or "").strip() and (latitude in (None, "") or longitude in (None, "")):
        raise BookingError("请填写地点或坐标", "give the place or its coordinates", "address")
    lat = lon = None
    if latitude not in (None, "") and longitude not in (None, ""):
        lat, lon = parse_coords(latitude, longitude)
    if node is None:
        area = ServiceArea.objects.filter(active=True).order_by("path").first()
        if area is None:
            raise BookingError("尚未设置收运片区", "no service area is configured", "area")
    else:
        area = area_for(node.path)
    phone = ""
    if reporter_phone:
        try:
            phone = pii.normalize_phone(reporter_phone)
        except pii.PiiError as e:
            raise BookingError(f"联系电话：{e.zh}", f"phone: {e.en}", "reporter_phone") from None
    path = node.path if node is not None else area.path
    upload = None
    if photo is not None:
        try:
            upload = store_upload(photo[0], name=photo[1], kind=Upload.Kind.PHOTO, user=actor, scope_path=path)
        except UploadError as e:
            raise BookingError(f"照片：{e.zh}", f"photo: {e.en}", "photo") from None
    report = DumpingReport.objects.create(
        reference=next_reference("JB"),
        description=description[:1000],
        address=(address or "").strip()[:200],
        latitude=lat,
        longitude=lon,
        area=area,
        path=path,
        photo=upload,
        reporter=actor if getattr(actor, "pk", None) else None,
        reporter_phone=phone,
    )
    audit.record(
        "bulky.report_dumping",
        report,
        actor=actor if getattr(actor, "pk", None) else None,
        changes={
            "reference": report.reference,
            "photo": upload.pk if upload else None,
            "phone": audit.PERSONAL if phone else "",
        },
    )
    # The service desk (if installed) files it as a request of its category, in this same transaction.
    dumping_reported.send(sender=DumpingReport, report=report, node=node or area.node)
    return report


@transaction.atomic
def assign_dumping(report: DumpingReport, *, actor: User | None, assignee: User) -> DumpingReport:
    require(actor, "bulkywaste.handle_dumping", report)
    if report.status == DumpingReport.Status.RESOLVED:
        raise BookingError("该举报已处理完毕", "this report is resolved", None)
    report.status, report.assigned_to = DumpingReport.Status.ASSIGNED, assignee
    report.save(update_fields=["status", "assigned_to", "updated_at"])
    audit.record("bulky.assign_dumping", report, actor=actor, changes={"assigned_to": assignee.pk})
    return report


@transaction.atomic
def resolve_dumping(report: DumpingReport, *, actor: User | None, resolution: str) -> DumpingReport:
    require(actor, "bulkywaste.handle_dumping", report)
    resolution = (resolution or "").strip()
    if not resolution:
        raise BookingError("请填写处理结果", "describe how it was resolved", "resolution")
    report.status, report.resolution = DumpingReport.Status.RESOLVED, resolution[:500]
    report.save(update_fields=["status", "resolution", "updated_at"])
    audit.record("bulky.resolve_dumping", report, actor=actor, changes={"resolution": resolution[:500]})
    return report
