"""Deliberation's pages and API for a matter of 油漆厂家属院 in its first stage (一征: opinions are open).

Out of sight is absent: a matter (or its meeting) outside one's scope, or of a compound one neither works in
nor lives in, answers 404; staff who see it but may not do a thing get 403.
"""

from datetime import date

from gongzhi.core.roles import CAPABILITIES
from gongzhi.deliberation import actions
from gongzhi.deliberation.models import Meeting
from gongzhi.deliberation.tests.builders import courtyard_set
from testkit.permissions import SIGNED_IN, Api, Page
from testkit.world import make_user


def setup(world):
    officer = make_user("perm-matter-officer", "community_worker", world.mini.community)
    world.matter = actions.create_matter(
        actor=officer, title="油漆厂家属院加装电梯", unit_set=courtyard_set(world.mini), summary="征求意见"
    )
    world.meeting = Meeting.objects.create(
        matter=world.matter,
        stage=world.matter.stage,
        body="residents_committee",
        title="协商会",
        held_on=date(2026, 9, 10),
        agenda="议程",
        created_by=officer,
    )


def matter(w):
    return {"pk": w.matter.pk}


def matter_id(w):
    return {"id": w.matter.pk}


# Residents' own flows (opinions, objections) are for those who live in or own a unit of the matter; no role
# makes one that, so staff who see the matter are refused (403) and everyone else finds nothing (404).
NOBODY = frozenset()
STAFF_REFUSED = {role: 403 for role in CAPABILITIES["staff"]}
# Households not yet reached: those who act for residents, and the process officers.
REACH = frozenset(
    {"district_admin", "subdistrict_staff", "community_worker", "registry_officer"}
    | {"hotline_operator", "party_liaison", "property_manager"}
)

TABLE = [
    Page("deliberation:list", who=SIGNED_IN),  # staff: the matters of their scope; others: their own
    Page("deliberation:new", who="staff"),
    Page("deliberation:matter", who="staff", kwargs=matter, refused=404),
    # Every form of the matter page posts here; an empty form is sent back with its message.
    Page(
        "deliberation:action",
        who="staff",
        method="post",
        kwargs=lambda w: {**matter(w), "verb": "proposal"},
        ok=302,
        refused=404,
    ),
    Page(
        "deliberation:advance",
        who="deliberation.officer",
        kwargs=matter,
        refused=403,
        expect={"resident": 404, "volunteer": 404},
    ),
    # 以问卷征求需求 (the matter is in 一征): the process officers, on to the surveys part's new-survey page.
    Page(
        "deliberation:needs_survey",
        who="deliberation.officer",
        kwargs=matter,
        ok=302,
        refused=403,
        expect={"resident": 404, "volunteer": 404},
    ),
    Page("deliberation:households", who=REACH, kwargs=matter, expect={"resident": 404, "volunteer": 404}),
    Page(
        "deliberation:operator_entry",
        who="residents.act_for",
        kwargs=lambda w: {**matter(w), "unit_pk": w.mini.units[0].pk},
        expect={"resident": 404, "volunteer": 404},
    ),
    Page("deliberation:opinion_kind", who=NOBODY, kwargs=matter, refused=404, expect=STAFF_REFUSED),
    Page("deliberation:opinion_text", who=NOBODY, kwargs=matter, refused=404, expect=STAFF_REFUSED),
    Page("deliberation:opinion_check", who=NOBODY, kwargs=matter, refused=404, expect=STAFF_REFUSED),
    Page("deliberation:opinion_done", who=NOBODY, kwargs=lambda w: {**matter(w), "ref": 1}, refused=404),
    Page("deliberation:objection", who=NOBODY, kwargs=matter, refused=404, expect=STAFF_REFUSED),
    Page("deliberation:meeting", who="staff", kwargs=lambda w: {"pk": w.meeting.pk}, refused=404),
    Api("/api/v1/matters/", who=SIGNED_IN),
    Api("/api/v1/matters/{id}/", who="staff", kwargs=matter_id, refused=404),
    Api("/api/v1/matters/{id}/opinions/", "post", who="staff", kwargs=matter_id, ok=400, refused=404),
    Api("/api/v1/matters/{id}/objections/", "post", who="staff", kwargs=matter_id, ok=400, refused=404),
]
