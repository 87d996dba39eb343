"""Organisations' pages and API: who gets what, in scope (铁道家园社区) and out of it (大学路街道)."""

from gongzhi.organizations import actions
from gongzhi.organizations.models import Membership, OrgKind
from gongzhi.registry import actions as registry
from testkit.permissions import SIGNED_IN, Api, Page


def setup(world):
    mini = world.mini
    committee = actions.create_organization(
        actor=None, kind=OrgKind.objects.get(code="community_party_committee"), node=mini.community, name="大党委"
    )
    world.org = actions.create_organization(
        actor=None,
        kind=OrgKind.objects.get(code="compound_party_branch"),
        node=mini.estate,
        name="油漆厂家属院党支部",
        parent=committee,
    )
    person = registry.create_person(actor=None, name="刘联络", phone="13900002222", home_path=mini.units[0].path)
    world.liaison = actions.add_member(
        world.org, actor=None, person=person, role=Membership.Role.LIAISON, is_party_member=True
    )


def org(w):
    return {"pk": w.org.pk}


def member(w):
    return {"pk": w.org.pk, "member_pk": w.liaison.pk}


def node(w):
    return f"?node={w.mini.community.pk}"


TABLE = [
    # Out of scope the organisation is absent (404) for staff; a reader who is staff nowhere is refused (403).
    Page("organizations:list", who="staff"),
    Page("organizations:detail", who="staff", kwargs=org),
    Page("organizations:create", who="organizations.edit"),
    Page("organizations:dissolve", who="organizations.edit", method="post", kwargs=org, ok=302, out=404),
    Page("organizations:member-add", who="organizations.edit", kwargs=org),
    Page("organizations:member-end", who="organizations.edit", method="post", kwargs=member, ok=302),
    Page("organizations:liaison-households", who="organizations.edit", kwargs=member),
    Page("organizations:coverage", who="staff"),
    Page("organizations:coverage-export", who="staff"),
    Page("organizations:coverage-households", who="staff", kwargs=lambda w: {"pk": w.mini.courtyard.pk}),
    Api("/api/v1/org-kinds/", who=SIGNED_IN),
    Api("/api/v1/organizations/", who="staff"),
    Api("/api/v1/organizations/", "post", who="staff", ok=400),  # an empty body: 400 naming the fields
    Api("/api/v1/organizations/{id}/", who="staff", kwargs=lambda w: {"id": w.org.pk}),
    Api("/api/v1/organizations/{id}/members/", "post", who="staff", kwargs=lambda w: {"id": w.org.pk}, ok=400),
    Api("/api/v1/coverage/", who="staff", query="?node=0", ok=400, refused=403),
]
