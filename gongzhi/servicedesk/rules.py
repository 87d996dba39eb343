"""Service-desk permissions: the capabilities of core.roles combined with the order's state (machine.py).

- 受理: anyone signed in for themself (`report_request`); operators, workers, liaisons for a caller (`intake_request`).
- 派单, objections, 督办, merging, 退回重办, 归档, the catalogue, the dashboard: `servicedesk.dispatch` in scope.
- 接单: `servicedesk.take` in scope, and the order dispatched to the taker, to an organisation the taker belongs
  to, or open to any taker of the scope; the taker then handles it (contact, start, extend, complete, object).
- 回访: `servicedesk.intake` in scope, never the order's own taker. The requester's name and phone: the dispatcher, the operators and the
  taker (who must call back).
"""

from __future__ import annotations

import rules

from gongzhi.core.rules import holds
from gongzhi.organizations.models import Membership
from gongzhi.servicedesk.machine import TRANSITIONS, allowed

dispatcher = holds("servicedesk.dispatch")
taker_role = holds("servicedesk.take")
intake = holds("servicedesk.intake")
staff = holds("staff")
open311_admin = holds("servicedesk.open311_keys")


def _state(name: str):
    @rules.predicate(name=f"sd_state_allows[{name}]")
    def pred(user, req=None) -> bool:
        if req is None:
            return True  # "may this user do this kind of thing at all" (menus)
        return allowed(name, req.status, objection_pending=req.objection_pending)

    return pred


STATE = {name: _state(name) for name in TRANSITIONS}


def _member_of(user, org_id) -> bool:
    if not org_id or not getattr(user, "person_id", None):
        return False

    return Membership.objects.filter(organization_id=org_id, person_id=user.person_id, until__isnull=True).exists()


@rules.predicate
def is_addressee(user, req=None) -> bool:
    """Dispatched to this user, to an organisation they belong to, or to nobody in particular."""
    if req is None:
        return True
    if req.assignee_id:
        return req.assignee_id == user.pk
    if req.assignee_org_id:
        return _member_of(user, req.assignee_org_id)
    return True


@rules.predicate
def is_taker(user, req=None) -> bool:
    if req is None:
        return True
    return bool(req.taker_id) and req.taker_id == getattr(user, "pk", None)


@rules.predicate
def is_requester(user, req=None) -> bool:
    if req is None or not getattr(user, "is_authenticated", False):
        return False
    return req.requester_user_id == user.pk


@rules.predicate
def signed_in(user, obj=None) -> bool:
    return bool(getattr(user, "is_authenticated", False))


handler = (taker_role & is_taker) | dispatcher

rules.add_perm("servicedesk.report_request", signed_in)
rules.add_perm("servicedesk.intake_request", intake)
rules.add_perm("servicedesk.view_request", staff | is_requester | is_taker | taker_role)
rules.add_perm("servicedesk.view_requester", dispatcher | intake | is_taker)
rules.add_perm("servicedesk.view_queue", dispatcher | taker_role | intake)
rules.add_perm("servicedesk.dispatch_request", dispatcher & STATE["dispatch"])
rules.add_perm("servicedesk.take_request", taker_role & is_addressee & STATE["take"])
rules.add_perm("servicedesk.object_request", taker_role & is_addressee & STATE["object"])
rules.add_perm("servicedesk.decide_objection", dispatcher & STATE["reject_objection"])
rules.add_perm("servicedesk.contact_request", handler & STATE["contact"])
rules.add_perm("servicedesk.start_request", handler & STATE["start"])
rules.add_perm("servicedesk.extend_request", handler & STATE["extend"])
rules.add_perm("servicedesk.complete_request", handler & STATE["complete"])
# The one who handled an order does not call to ask whether it was handled well.
rules.add_perm("servicedesk.follow_up_request", intake & ~is_taker & (STATE["follow_up"] | STATE["follow_up_rated"]))
rules.add_perm("servicedesk.rate_request", (is_requester | (intake & ~is_taker)) & STATE["rate"])
rules.add_perm("servicedesk.return_request", dispatcher & STATE["return"])
rules.add_perm("servicedesk.archive_request", dispatcher & STATE["archive"])
rules.add_perm("servicedesk.escalate_request", dispatcher & STATE["escalate"])
rules.add_perm("servicedesk.merge_request", dispatcher & STATE["merge"])
rules.add_perm("servicedesk.manage_catalogue", dispatcher)
rules.add_perm("servicedesk.view_dashboard", dispatcher)
rules.add_perm("servicedesk.view_calls", intake)
rules.add_perm("servicedesk.manage_open311_clients", open311_admin)
# 服务评价 (满意率 from the ratings): the dispatchers of the scope; its data file also the rates' data readers.
rules.add_perm("servicedesk.view_ratings", dispatcher)
rules.add_perm("servicedesk.download_ratings_data", dispatcher | holds("surveys.rates"))
