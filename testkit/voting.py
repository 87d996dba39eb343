"""Named owners and votes for tests, on top of `testkit.world.build_mini_district`.

The mini district's 1号楼1单元 (units 101–302, registered areas 62.50–67.50) gets owners that exercise every
counting rule (SPC Interpretation Arts. 8–9), and two more units whose area comes from the survey (401) and
from the sale contract only (402):

    head          units        area     why
    张卫东         101, 102     126.00   one owner with two units: one head, areas summed
    李桂兰(+王强)  201          64.50    co-owners voting through the designated voter 李桂兰
    开发商         202, 301     132.00   the developer's unsold and undelivered units: one head
    赵建军         302          67.50
    钱玉梅         401          70.25    surveyed area (no registered area)
    孙立新         402          71.10    contract area only
    ─────────────────────────────────
    6 heads, 8 units, total 531.35 m²
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from gongzhi.core.models import User
from gongzhi.registry import actions as registry
from gongzhi.registry.models import Ownership, Person, Unit, UnitSet
from gongzhi.voting import actions
from gongzhi.voting.models import Vote
from testkit.world import MiniDistrict, make_user

TOTAL_AREA = Decimal("531.35")


@dataclass
class OwnersCompound:
    mini: MiniDistrict
    unit_set: UnitSet
    units: list[Unit]
    zhang: Person
    li: Person
    wang: Person
    developer: Person
    zhao: Person
    qian: Person
    sun: Person

    def account(self, person: Person, username: str | None = None) -> User:
        """A resident's sign-in linked to their person record."""
        return make_user(
            username or f"owner-{person.pk}", "resident", self.mini.courtyard, person=person, phone=person.phone
        )


def build_owners_compound(mini: MiniDistrict) -> OwnersCompound:
    ent = mini.entrance
    u = list(mini.units)
    u.append(
        registry.create_unit(
            actor=None, node=ent, number="401", floor=4, area_surveyed=Decimal("70.25"), area_contract=Decimal("72.00")
        )
    )
    u.append(registry.create_unit(actor=None, node=ent, number="402", floor=4, area_contract=Decimal("71.10")))

    def person(name, phone, **kw):
        return registry.create_person(actor=None, name=name, phone=phone, **kw)

    zhang = person("张卫东", "13800000001")
    li = person("李桂兰", "13800000002")
    wang = person("王强", "13800000003")
    developer = person("郑州航海置业有限公司", "037168000000", kind=Person.Kind.LEGAL, is_developer=True)
    zhao = person("赵建军", "13800000004")
    qian = person("钱玉梅", "13800000005")
    sun = person("孙立新", "13800000006")
    own = registry.add_ownership
    own(actor=None, unit=u[0], person=zhang)
    own(actor=None, unit=u[1], person=zhang)
    own(actor=None, unit=u[2], person=li, designated_voter=True)
    own(actor=None, unit=u[2], person=wang)
    own(actor=None, unit=u[3], person=developer, developer_status=Ownership.DeveloperStatus.UNSOLD)
    own(actor=None, unit=u[4], person=developer, developer_status=Ownership.DeveloperStatus.UNDELIVERED)
    own(actor=None, unit=u[5], person=zhao)
    own(actor=None, unit=u[6], person=qian)
    own(actor=None, unit=u[7], person=sun)
    registry.refresh_stats(mini.courtyard)
    unit_set = registry.create_unit_set(
        actor=None,
        name="油漆厂家属院全体业主",
        kind=UnitSet.Kind.COMPOUND,
        scope=mini.courtyard,
        nodes=[mini.courtyard],
    )
    return OwnersCompound(mini, unit_set, u, zhang, li, wang, developer, zhao, qian, sun)


def open_vote_now(
    compound: OwnersCompound,
    organiser,
    *,
    matter: str = "property_company",
    kind: str = Vote.Kind.OWNER,
    hours: int = 2,
    **kw,
) -> Vote:
    """A vote called, its roll published 30 days ago (notice period long over), open now for `hours`."""
    now = timezone.now()
    vote = actions.call_vote(
        actor=organiser,
        kind=kind,
        subject=kw.pop("subject", "选聘物业服务企业"),
        matter=matter,
        unit_set=compound.unit_set,
        opens_at=now - timedelta(minutes=5),
        closes_at=now + timedelta(hours=hours),
        **kw,
    )
    actions.publish_roll(vote, actor=organiser, now=now - timedelta(days=30))
    actions.open_vote(vote, actor=organiser)
    return vote


def after_close(vote: Vote) -> datetime:
    return vote.closes_at + timedelta(seconds=1)


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
