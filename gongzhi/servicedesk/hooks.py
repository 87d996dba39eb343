"""What other parts hand to the service desk.

- Bulky waste: an illegal-dumping report (乱丢大件垃圾) becomes a request of the catalogue's `bulky_dumping`
  category, filed by the system in the report's own transaction (bulkywaste.actions.dumping_reported).
"""

from __future__ import annotations

import logging

from django.db import transaction

from gongzhi.bulkywaste.actions import dumping_reported
from gongzhi.servicedesk import actions
from gongzhi.servicedesk.models import Category, ServiceRequest

log = logging.getLogger(__name__)


def file_dumping_report(sender, *, report, node, **kwargs) -> None:
    category = Category.objects.filter(code=sender.SERVICE_CODE, active=True).first()
    if category is None:
        return  # the district has no such category: the community's dumping queue handles it alone
    try:
        with transaction.atomic():  # a refusal here must not lose the dumping report itself
            actions.submit_request(
                actor=None,
                category=category,
                description=report.description,
                channel=ServiceRequest.Channel.BULKY,
                node=node,
                latitude=report.latitude,
                longitude=report.longitude,
                address_string=report.address,
                requester_phone=report.reporter_phone,
                uploads=[report.photo] if report.photo_id else [],
                source=f"bulkywaste:{report.reference}",
            )
    except actions.DeskError as e:
        log.warning("dumping report %s not filed as a service request: %s", report.reference, e)


def connect() -> None:
    dumping_reported.connect(file_dumping_report, dispatch_uid="servicedesk.file_dumping_report")
