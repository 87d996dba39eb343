"""What other parts hand to the service desk.

- Bulky waste: an illegal-dumping report (乱丢大件垃圾) becomes a request of the catalogue's `bulky_dumping`
  category, filed by the system in the report's own transaction (bulkywaste.actions.dumping_reported).
- Renovation: a resident's defect in a project under works becomes a request of the `renovation_defect`
  category, filed in the defect's own transaction (renovation.actions.defect_reported) and linked to it by its
  `source` ("renovation.defect:42"); the defect pages read the request's reference and state back through the
  reader registered with `renovation.links` (renovation imports nothing of the desk).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.urls import reverse

from gongzhi.bulkywaste.actions import dumping_reported
from gongzhi.core.gate import allows
from gongzhi.renovation import links
from gongzhi.renovation.actions import defect_progressed, defect_reported
from gongzhi.servicedesk import actions
from gongzhi.servicedesk.machine import OPEN
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


RENOVATION_CODE = "renovation_defect"


def file_renovation_defect(sender, *, defect, actor=None, on_behalf_of=None, **kwargs) -> ServiceRequest | None:
    """A resident's defect → a request of the renovation-defect category, at the defect's place (or the project's
    scope), for the resident (their account when they reported it themselves), with the photo before."""
    category = Category.objects.filter(code=RENOVATION_CODE, active=True).first()
    if category is None:
        return None  # the district has no such category: the project's own defect list handles it alone
    source = links.defect_source(defect.pk)
    if ServiceRequest.objects.filter(source=source).exists():
        return None
    project = defect.project
    own_account = actor if on_behalf_of is None and getattr(actor, "pk", None) else None
    description = f"【{project.name}】{defect.description}"
    if defect.spot:
        description += f"（{defect.spot}）"
    try:
        with transaction.atomic():  # a refusal here must not lose the defect itself
            return actions.submit_request(
                actor=None,
                category=category,
                description=description,
                channel=ServiceRequest.Channel.RENOVATION,
                node=defect.location or project.scope,
                uploads=[defect.photo_before] if defect.photo_before_id else [],
                source=source,
                requester_account=own_account,
                on_behalf_of=on_behalf_of or (defect.reporter if own_account is None else None),
            )
    except actions.DeskError as e:
        log.warning("renovation defect %s not filed as a service request: %s", defect.pk, e)
        return None


def note_defect_progress(sender, *, defect, step, actor=None, **kwargs) -> None:
    """The defect's fix reported, closed or sent back → a line on the request filed for it (if any)."""
    req = ServiceRequest.objects.filter(source=links.defect_source(defect.pk)).first()
    if req is not None:
        actions.record_linked_step(req, actor=actor if getattr(actor, "pk", None) else None, step=step)


def read_defect_links(defect_ids: list[int], user) -> dict[int, links.DeskLink]:
    """Defect id → its request's reference and state (one query); the link to the request's page only for those
    who may see that page (the resident who reported it, the desk's staff and takers)."""
    by_source = {links.defect_source(i): i for i in defect_ids}
    out = {}
    for req in ServiceRequest.objects.filter(source__in=list(by_source)).select_related("category"):
        url = reverse("servicedesk:order", args=[req.pk]) if allows(user, "servicedesk.view_request", req) else ""
        out[by_source[req.source]] = links.DeskLink(
            reference=req.reference,
            state=req.status,
            state_label=str(req.get_status_display()),
            open=req.state in OPEN,
            url=url,
        )
    return out


def connect() -> None:
    dumping_reported.connect(file_dumping_report, dispatch_uid="servicedesk.file_dumping_report")
    defect_reported.connect(file_renovation_defect, dispatch_uid="servicedesk.file_renovation_defect")
    defect_progressed.connect(note_defect_progress, dispatch_uid="servicedesk.note_defect_progress")
    links.register_desk_reader("servicedesk.requests", read_defect_links)
