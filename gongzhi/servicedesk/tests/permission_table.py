"""The service desk's pages, its API and Open311: who gets what (see testkit.permissions).

A stair light reported in 油漆厂家属院 (the community "in scope") and dispatched to any taker there, a second
order completed and waiting for its follow-up call, and the in-scope resident's own report.

- Reporting and one's own requests: anyone signed in (`servicedesk.report_request`); the board, the rating
  link (its key is the credential) and the front page: anyone.
- An order's page is seen by the staff and the takers of its scope and by its requester and taker
  (`servicedesk.view_request`): anyone else is answered 404; a viewer without the move or the reveal, 403.
- Open311 (/open311/v2/) answers for itself: reading is public for everyone, signed in or not; filing a
  request (POST requests.json) is decided by the `api_key` in the body alone, never by a session or a role.
  The table states both: the same POST with the client's key (200, as the spec answers, for every asker, anonymous included) and
  without one (403 for every asker) — `who=PUBLIC` with `ok`/`anon` set, since no role changes the answer.
"""

from django.utils import timezone

from gongzhi.core.roles import CAPABILITIES
from gongzhi.servicedesk import actions
from gongzhi.servicedesk import testing as sd
from gongzhi.servicedesk.machine import State
from gongzhi.servicedesk.models import FollowUpCall, ServiceRequest
from testkit.permissions import PUBLIC, SIGNED_IN, Api, Page
from testkit.world import make_user

DISPATCH = "servicedesk.dispatch"
TAKE = "servicedesk.take"
INTAKE = "servicedesk.intake"
# Who sees an order at all (`servicedesk.view_request`): the scope's staff and takers. The rest: "absent".
VIEWERS = CAPABILITIES["staff"] | CAPABILITIES[TAKE]
UNSEEN = {"resident": 404}  # the one role that is neither staff nor a taker


def setup(world):
    mini = world.mini
    cats = sd.catalogue(mini.district)
    world.requester = make_user("perm-sd-requester", "resident", mini.courtyard)
    dispatcher = make_user("perm-sd-dispatcher", "community_worker", mini.community)

    def report(actor, **kw):
        return actions.submit_request(
            actor=actor,
            category=cats["stair_light"],
            description="1单元3楼楼道灯不亮",
            channel="web",
            node=mini.entrance,
            answers={"floor": "3"},
            **kw,
        )

    world.order = actions.dispatch_request(report(world.requester), actor=dispatcher)
    done = report(world.requester)
    ServiceRequest.objects.filter(pk=done.pk).update(
        status=State.COMPLETED.value, resolution="已更换灯泡", completed_at=timezone.now()
    )
    world.call = FollowUpCall.objects.create(request=done, due_on=done.accepted_at.date(), path=done.path)
    world.own = report(world.users[("resident", "in")])
    world.open311_client, world.open311_key = actions.create_open311_client(
        actor=None, name="perm-sd-client", node=mini.district, per_minute=1000
    )


def courtyard(w):
    return f"?node={w.mini.courtyard.pk}"


def order(w):
    return {"pk": w.order.pk}


def fmt(**more):
    return lambda w: {"fmt": "json", **{k: v(w) if callable(v) else v for k, v in more.items()}}


def filing(key: bool):
    def data(w):
        d = {"service_code": "elderly_help", "address_string": "福华街12号 油漆厂家属院", "description": "需要代购"}
        if key:
            d["api_key"] = w.open311_key
        return d

    return data


TABLE = [
    Page("servicedesk:start", who=PUBLIC),
    # Reporting, one question a page: the steps after the first send an empty draft back to it.
    Page("servicedesk:report", who=SIGNED_IN),
    Page("servicedesk:report_place", who=SIGNED_IN, ok=302),
    Page("servicedesk:report_question", who=SIGNED_IN, kwargs=lambda w: {"code": "floor"}, ok=302),
    Page("servicedesk:report_describe", who=SIGNED_IN, ok=302),
    Page("servicedesk:report_photo", who=SIGNED_IN, ok=302),
    Page("servicedesk:report_check", who=SIGNED_IN, ok=302),
    # The confirmation of one's own report: only its requester finds it.
    Page(
        "servicedesk:report_done",
        who=frozenset({"resident"}),
        kwargs=lambda w: {"reference": w.own.reference},
        refused=404,
    ),
    Page("servicedesk:mine", who=SIGNED_IN),
    Page("servicedesk:hotline", who=INTAKE),
    Page("servicedesk:queue", who=DISPATCH),
    Page("servicedesk:near", who=TAKE),
    Page("servicedesk:calls", who=INTAKE),
    Page("servicedesk:call", who=INTAKE, kwargs=lambda w: {"pk": w.call.pk}),
    Page("servicedesk:order", who=VIEWERS, kwargs=order, refused=404),
    # A move (催办: the dispatchers'): a viewer without it is refused, anyone else finds nothing.
    Page(
        "servicedesk:order_move",
        who=DISPATCH,
        method="post",
        kwargs=lambda w: {"pk": w.order.pk, "move": "escalate"},
        ok=302,
        expect=UNSEEN,
    ),
    # The requester's full name and phone: the dispatchers and operators of the scope (and the taker).
    Page("servicedesk:reveal", who=INTAKE, method="post", kwargs=order, expect=UNSEEN),
    Page("servicedesk:rate", who=PUBLIC, kwargs=lambda w: {"key": w.order.rating_key}),
    Page("servicedesk:boards", who=PUBLIC),
    Page("servicedesk:board", who=PUBLIC, kwargs=lambda w: {"node_id": w.mini.community.pk}),
    Page("servicedesk:dashboard", who=DISPATCH),
    Page("servicedesk:dashboard_export", who=DISPATCH),
    # 服务评价 of an area: out of the reader's scope it is absent. Its data file (nothing personal): the
    # dispatchers and the rates' data readers (surveys.rates).
    Page("servicedesk:ratings", who=DISPATCH, query=courtyard, out=404),
    Page(
        "servicedesk:ratings_data", who=CAPABILITIES[DISPATCH] | CAPABILITIES["surveys.rates"], query=courtyard, out=404
    ),
    Api("/api/v1/servicedesk/categories/", who=PUBLIC),
    # The queue (`servicedesk.view_queue`): the dispatchers, takers and operators; each sees its own scope.
    Api("/api/v1/servicedesk/requests/", who=CAPABILITIES[DISPATCH] | CAPABILITIES[TAKE] | CAPABILITIES[INTAKE]),
    Api("/api/v1/servicedesk/requests/{id}/", who=VIEWERS, kwargs=lambda w: {"id": w.order.pk}, refused=404),
    # Open311: public reading, for everyone alike.
    Page("open311:root", who=PUBLIC, ok=404),
    Page("open311:not_found", who=PUBLIC, ok=404, kwargs=lambda w: {"rest": "nothing-here"}),
    Page("open311:discovery", who=PUBLIC, kwargs=fmt()),
    Page("open311:services", who=PUBLIC, kwargs=fmt()),
    Page("open311:service", who=PUBLIC, kwargs=fmt(code="stair_light")),
    Page("open311:requests", who=PUBLIC, kwargs=fmt()),
    Page("open311:request", who=PUBLIC, kwargs=fmt(request_id=lambda w: w.order.reference)),
    Page("open311:token", who=PUBLIC, kwargs=fmt(token=lambda w: str(w.order.token))),
    # Filing: the api_key decides, whoever asks (a session neither helps nor hinders).
    Page("open311:requests", who=PUBLIC, method="post", kwargs=fmt(), data=filing(key=True), ok=200),
    Page("open311:requests", who=PUBLIC, method="post", kwargs=fmt(), data=filing(key=False), ok=403),
]
