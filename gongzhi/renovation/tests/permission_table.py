"""Renovation's pages and API for three projects of 油漆厂家属院 (the community's roles are "in scope"):

- `world.project`, ordering (点单 open), for the menu, orders, tallies and the door-to-door list;
- `world.to_adopt`, ordering, whose plan the API adopts (it changes state, so it has a project of its own);
- `world.works`, in works, with a work item and an open (registered) defect, for progress, defects and
  acceptance. The in-scope contractor is a member of its contractor (施工单位): the "tracker" on its own
  project; the out-of-scope contractor is not, and does not see it.

What each answers follows `core.roles` and `renovation/rules.py`: staff of the scope see a project (others: 404),
and those who see it but may not do a thing get 403. No role makes one a household of a project, so the
resident's own ordering pages let nobody in here.
"""

import io

from PIL import Image

from gongzhi.core.roles import CAPABILITIES
from gongzhi.organizations.models import Membership
from gongzhi.registry import actions as registry
from gongzhi.registry.models import Person, Residence, UnitSet
from gongzhi.renovation import actions
from gongzhi.renovation.tests.builders import menu, organization, soon
from testkit.permissions import PUBLIC, SIGNED_IN, Api, Page
from testkit.world import make_user

MANAGE = "renovation.manage"
TAKE_ORDERS = "renovation.take_orders"
# renovation.view_tallies: the officers and those who take orders on a household's behalf
TALLIES = CAPABILITIES[MANAGE] | CAPABILITIES[TAKE_ORDERS]
# renovation.report_progress: the officers, and the contractor on its own project (the tracker)
TRACKERS = CAPABILITIES[MANAGE] | CAPABILITIES["renovation.report_progress"]
# renovation.report_defect: inspectors, those who enter things for residents (and households, supervisors)
DEFECT_REPORTERS = CAPABILITIES["renovation.inspect"] | CAPABILITIES[TAKE_ORDERS]
# Those without "staff" in scope do not see a project at all: absent (404), not refused.
UNSEEN = {"resident": 404, "volunteer": 404}
NOBODY = frozenset()
STAFF_REFUSED = {role: 403 for role in CAPABILITIES["staff"]}
# A district's menu belongs to the district: a role held at the community does not reach it.
MENU_AT_DISTRICT = {role: 403 for role in CAPABILITIES[MANAGE]}


def setup(world):
    mini = world.mini
    officer = make_user("perm-renovation-officer", "community_worker", mini.community)
    pipes, _lift, meter = menu(mini.district)
    world.item = pipes
    world.unplanned_item = meter  # on no project: still editable
    builder = organization("contractor", mini.community, "郑州建工")
    group = organization("supervision_group", mini.courtyard, "油漆厂家属院议事监督小组")
    contractor = world.users[("contractor", "in")]
    contractor.person = Person.objects.create(name="郑工", home_path=mini.community.path)
    contractor.save()
    Membership.objects.create(organization=builder, person=contractor.person, role=Membership.Role.MEMBER)

    def project(name):
        unit_set = registry.create_unit_set(
            actor=None, name=name, kind=UnitSet.Kind.COMPOUND, scope=mini.courtyard, nodes=[mini.courtyard]
        )
        return actions.create_project(
            actor=officer,
            name=name,
            unit_set=unit_set,
            menu=[pipes],
            budget="100000.00",
            contractor=builder,
            supervisor=group,
        )

    world.project = project("油漆厂家属院综合改造")
    world.to_adopt = project("油漆厂家属院屋面改造")
    world.works = project("油漆厂家属院管网改造")
    actions.adopt_plan(world.works, actor=officer)
    actions.start_works(world.works, actor=officer)
    world.work = actions.add_work_item(
        world.works, actor=officer, external_id="W1", name="屋面防水", budget="100000.00"
    )
    world.plan = actions.upload_plan(world.works, actor=officer, title="1号楼屋面平面图", image=_png())
    world.defect = actions.report_defect(
        world.works,
        actor=officer,
        source="inspector",
        description="檐口渗水",
        deadline=soon(),
        photo_before=_jpeg(),
        plan=world.plan,
        plan_xy=("20.00", "10.00"),
    )
    world.owner = Residence.objects.filter(unit=mini.units[0], until__isnull=True).first().person


def _jpeg() -> tuple[bytes, str]:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "gray").save(buf, "JPEG")
    return buf.getvalue(), "eaves.jpg"


def _png() -> tuple[bytes, str]:
    buf = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(buf, "PNG")
    return buf.getvalue(), "roof.png"


def ordering(w):
    return {"pk": w.project.pk}


def works(w):
    return {"pk": w.works.pk}


def order_kwargs(w):
    return {"pk": w.project.pk, "unit_id": w.mini.units[0].pk, "item_id": w.item.pk}


TABLE = [
    Page("renovation:start", who=SIGNED_IN),
    Page("renovation:menu", who=MANAGE),
    Page("renovation:menu-new", who=MANAGE, out=403, expect=MENU_AT_DISTRICT),
    # Editing a district's item: its district's officers (a community role does not reach the district's menu).
    Page(
        "renovation:menu-edit",
        who=MANAGE,
        kwargs=lambda w: {"item_id": w.unplanned_item.pk},
        out=403,
        expect=MENU_AT_DISTRICT,
    ),
    Page("renovation:new", who=MANAGE),
    Page("renovation:project", who="staff", kwargs=ordering, refused=404),
    Page("renovation:manage", who=MANAGE, kwargs=ordering, expect=UNSEEN),
    # The household's own 点单: nobody here lives in the project (staff who see it: 403).
    Page("renovation:order-item", who=NOBODY, kwargs=order_kwargs, refused=404, expect=STAFF_REFUSED),
    Page("renovation:order-check", who=NOBODY, kwargs=order_kwargs, refused=404, expect=STAFF_REFUSED),
    Page("renovation:order-done", who=NOBODY, kwargs=lambda w: {"pk": w.project.pk, "order_id": 0}, refused=404),
    Page("renovation:proxy-order", who=TAKE_ORDERS, kwargs=ordering, expect=UNSEEN),
    Page("renovation:tallies", who=TALLIES, kwargs=ordering, expect=UNSEEN),
    Page("renovation:door", who=TALLIES, kwargs=ordering, expect=UNSEEN),
    Page("renovation:timeline", who="staff", kwargs=ordering, refused=404),
    # The survey frame of those who ordered: nobody has ordered in this world, so the officer is sent back (302).
    Page("renovation:survey-frame", who=MANAGE, method="post", kwargs=works, ok=302, expect=UNSEEN),
    Page("renovation:works", who="staff", kwargs=works, refused=404),
    # An empty progress form is sent back with its messages (400).
    Page(
        "renovation:progress",
        who=TRACKERS,
        method="post",
        kwargs=lambda w: {"pk": w.works.pk, "work_id": w.work.pk},
        ok=400,
        expect=UNSEEN,
    ),
    Page("renovation:export", who="staff", kwargs=works, refused=404),
    Page("renovation:import", who=TRACKERS, kwargs=works, expect=UNSEEN),
    Page("renovation:report-defect", who=DEFECT_REPORTERS, kwargs=works, expect=UNSEEN),
    # Closing or sending back a fix: the supervisor side. No "do" and no reason: back to the works page.
    Page(
        "renovation:defect-decide",
        who="renovation.inspect",
        method="post",
        kwargs=lambda w: {"pk": w.works.pk, "defect_id": w.defect.pk},
        ok=302,
        expect=UNSEEN,
    ),
    Page("renovation:supervision", who="staff", kwargs=works, refused=404),
    # Plans (平面图): those who see the project see its plans and their pictures (a household places its defect on
    # one; no household here); the open defects drawn on one are the works staff's.
    Page("renovation:plans", who="staff", kwargs=works, refused=404),
    Page("renovation:plan", who="staff", kwargs=lambda w: {"pk": w.works.pk, "plan_id": w.plan.pk}, refused=404),
    Page("renovation:plan-image", who="staff", kwargs=lambda w: {"pk": w.works.pk, "plan_id": w.plan.pk}, refused=404),
    # The contractor's link shows the plan the defect is placed on: the token is the authority.
    Page("renovation:defect-plan-image", who=PUBLIC, kwargs=lambda w: {"token": w.defect.token}),
    # A defect's photo, privately: those who see the works (the resident who reported it too: no one here).
    Page(
        "renovation:photo",
        who="staff",
        kwargs=lambda w: {"pk": w.works.pk, "key": w.defect.photo_before.key},
        refused=404,
    ),
    # The contractor's link shows the defect's photo: the token is the authority.
    Page("renovation:defect-photo", who=PUBLIC, kwargs=lambda w: {"token": w.defect.token, "which": "before"}),
    # The contractor's link: the token is the authority, no account needed.
    Page("renovation:defect-answer", who=PUBLIC, kwargs=lambda w: {"token": w.defect.token}),
    Api("/api/v1/renovation/menu-items/", who=SIGNED_IN),
    Api("/api/v1/renovation/menu-items/{id}/", who=SIGNED_IN, kwargs=lambda w: {"id": w.item.pk}),
    Api("/api/v1/renovation/projects/", who=SIGNED_IN),  # each reader: the projects they see
    Api("/api/v1/renovation/projects/{id}/", who="staff", kwargs=lambda w: {"id": w.project.pk}, refused=404),
    Api("/api/v1/renovation/projects/{id}/tallies/", who=TALLIES, kwargs=lambda w: {"id": w.project.pk}, expect=UNSEEN),
    # Another household's bill: those who see the tallies.
    Api(
        "/api/v1/renovation/projects/{id}/bill/",
        who=TALLIES,
        kwargs=lambda w: {"id": w.project.pk},
        query=lambda w: f"?unit={w.mini.units[0].pk}",
        expect=UNSEEN,
    ),
    Api("/api/v1/renovation/projects/{id}/timeline/", who="staff", kwargs=lambda w: {"id": w.project.pk}, refused=404),
    # Adopting the plan ends ordering: the first who may (the district admin) adopts it; the other officers are
    # then refused, ordering being over.
    Api(
        "/api/v1/renovation/projects/{id}/adopt-plan/",
        "post",
        who=MANAGE,
        kwargs=lambda w: {"id": w.to_adopt.pk},
        expect={**UNSEEN, ("subdistrict_staff", "in"): 403, ("community_worker", "in"): 403},
    ),
    # 点单 door to door on the owner's behalf (entered again: the answer is replaced).
    Api(
        "/api/v1/renovation/projects/{id}/orders/",
        "post",
        who=TAKE_ORDERS,
        kwargs=lambda w: {"id": w.project.pk},
        data=lambda w: {
            "unit": w.mini.units[0].pk,
            "item": w.item.pk,
            "agrees": True,
            "channel": "door",
            "on_behalf_of": w.owner.pk,
        },
        expect=UNSEEN,
    ),
    Api("/api/v1/renovation/projects/{id}/work-items/", who="staff", kwargs=lambda w: {"id": w.works.pk}, refused=404),
    Api(
        "/api/v1/renovation/work-items/{id}/progress/",
        "post",
        who=TRACKERS,
        kwargs=lambda w: {"id": w.work.pk},
        ok=400,
        expect=UNSEEN,
    ),
    Api("/api/v1/renovation/defects/", who=SIGNED_IN),  # each reader: the defects they see
    Api(
        "/api/v1/renovation/defects/",
        "post",
        who=DEFECT_REPORTERS,
        data=lambda w: {"project": w.works.pk, "description": "楼道扶手松动", "deadline": soon().isoformat()},
        ok=201,
        out=404,
        expect=UNSEEN,
    ),
    Api("/api/v1/renovation/defects/{id}/", who="staff", kwargs=lambda w: {"id": w.defect.pk}, refused=404),
    # The contractor's fix: its own project's contractor only. An empty note is sent back (400).
    Api(
        "/api/v1/renovation/defects/{id}/resolve/",
        "post",
        who=frozenset({"contractor"}),
        kwargs=lambda w: {"id": w.defect.pk},
        ok=400,
        expect=UNSEEN,
    ),
    # Closing: the supervisor side, and only after a fix (409 while the defect awaits one).
    Api(
        "/api/v1/renovation/defects/{id}/close/",
        "post",
        who="renovation.inspect",
        kwargs=lambda w: {"id": w.defect.pk},
        ok=409,
        expect=UNSEEN,
    ),
    Api("/api/v1/renovation/defect-answers/", "post", who=PUBLIC, ok=400),  # no token, name or note
    Api("/api/v1/renovation/plans/", who=SIGNED_IN),  # each reader: the plans of the projects they see
    Api("/api/v1/renovation/plans/{id}/", who="staff", kwargs=lambda w: {"id": w.plan.pk}, refused=404),
    # Uploading a plan: the project's officers (no picture sent: 400 once the project says they may).
    Api(
        "/api/v1/renovation/plans/",
        "post",
        who=MANAGE,
        data=lambda w: {"project": w.works.pk, "title": "2号楼平面图"},
        form=True,
        ok=400,
        out=404,
        expect=UNSEEN,
    ),
]
