"""The demo district: the seed's story in figures, idempotent loading, and every demo account can sign in."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from gongzhi.core.audit import verify
from gongzhi.core.models import AuditEntry, User
from gongzhi.organizations.models import LiaisonAssignment, Organization
from gongzhi.registry.models import AreaNode, CompoundProfile, Ownership, Person, Unit, UnitSet
from gongzhi.site import demo


@pytest.mark.django_db
def test_baseline_page_needs_sign_in_and_renders_the_base_layout(client, persona):
    url = reverse("core:baseline")
    assert client.get(url).status_code == 302
    client.force_login(persona("community_worker"))
    response = client.get(url)
    assert response.status_code == 200
    assert "<html" in response.content.decode()


def load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def unmanaged_share(node: AreaNode) -> float:
    profiles = CompoundProfile.objects.filter(node__path__startswith=node.path)
    return profiles.filter(management=CompoundProfile.Management.UNMANAGED).count() / profiles.count()


@pytest.mark.django_db
def test_demo_tells_the_seeds_story_and_loads_once():
    output = load()
    ctx = demo.DemoContext()
    fuhua = ctx.node("福华街街道")
    assert fuhua.compound_count >= 160
    assert 0.78 <= unmanaged_share(fuhua) <= 0.82

    xinpu = ctx.node("福华街街道", "新圃西街社区")
    assert 0.77 <= xinpu.aged_60_count / xinpu.resident_count <= 0.83  # elderly share ≈ 80%
    assert round(unmanaged_share(xinpu), 2) == 0.71
    pianqu = UnitSet.objects.get(name="豪邦花园片区")
    assert pianqu.kind == UnitSet.Kind.PIANQU and "路院同治" in pianqu.description
    assert sorted(n.name for n in pianqu.nodes.all()) == [
        "豪邦花园东院",
        "豪邦花园北院",
        "豪邦花园南院",
        "豪邦花园西院",
    ]
    assert {n.profile.year_built // 10 for n in pianqu.nodes.all()} == {199}

    paint = ctx.compound("油漆厂家属院")
    assert paint.profile.year_built // 10 == 198
    factory = Person.objects.get(name="郑州油漆厂", kind=Person.Kind.LEGAL)
    assert Ownership.objects.filter(person=factory, unit__compound=paint).count() >= 3
    assert ctx.node("福华街街道", "铁道家园社区", "航海小区").children.count() >= 3
    assert ctx.compound("桃源路47号院")

    weilan = ctx.compound("正商蔚蓝港湾")
    assert weilan.profile.management == CompoundProfile.Management.PROPERTY_COMPANY and weilan.profile.fees_collected
    assert weilan.unit_count >= 300
    held = Ownership.objects.filter(unit__compound=weilan, person__is_developer=True)
    assert set(held.values_list("developer_status", flat=True)) == {"unsold", "undelivered"}
    assert Organization.objects.filter(node=weilan, kind__code="property_company").exists()

    renhe = ctx.node("人和路街道")
    for court in AreaNode.objects.filter(path__startswith=renhe.path, level__is_compound=True):
        cats = set(
            Organization.objects.filter(path__startswith=court.parent.path).values_list("kind__category", flat=True)
        )
        assert {"party", "self_governance", "volunteer"} <= cats, court
    # the coverage report must have something to say: some households without a liaison, some 楼院 without a party group
    households = Unit.objects.filter(resident_count__gt=0).count()
    assert 0 < LiaisonAssignment.objects.filter(until=None).count() < households
    assert (
        Organization.objects.filter(kind__code="courtyard_party_group").count()
        < AreaNode.objects.filter(level__is_compound=True).count()
    )

    # valid personal data throughout, unique ID numbers, a designated voter for every co-owned unit
    from gongzhi.core import pii

    for person in Person.objects.filter(kind=Person.Kind.NATURAL).exclude(id_number_enc="")[:300]:
        pii.normalize_resident_id(person.get_id_number())
        if person.phone:
            pii.normalize_mobile(person.phone)
    assert not Unit.objects.filter(area_registered=None, area_surveyed=None, area_contract=None).exists()
    assert (
        Ownership.objects.filter(is_designated_voter=True).count()
        == Unit.objects.filter(ownerships__isnull=False).distinct().count()
    )

    assert "registry_officer" in output and "demo_otp" in output and "sms-outbox.jsonl" in output
    # The demo resident can try the voting flow: on the roll of an open vote, not yet voted.
    from gongzhi.voting.models import Vote, VoterRollEntry

    resident = User.objects.get(username="resident")
    entry = VoterRollEntry.objects.get(voter=resident.person, vote__status=Vote.Status.OPEN)
    assert not entry.ballots.exists() and resident.has_perm("voting.cast_ballot", entry.vote)
    # The project in works shows its awareness survey on its timeline (the surveys part asks about it).
    from gongzhi.renovation import selectors as renovation_selectors
    from gongzhi.renovation.models import Project

    works = Project.objects.get(name__startswith="豪邦花园片区")
    assert any(e.kind == "survey" for e in renovation_selectors.timeline(works, staff=True))
    counts = (Unit.objects.count(), Person.objects.count(), Organization.objects.count(), User.objects.count())
    entries = AuditEntry.objects.count()
    again = load()
    assert "已存在" in again
    assert (Unit.objects.count(), Person.objects.count(), Organization.objects.count(), User.objects.count()) == counts
    assert AuditEntry.objects.count() == entries
    assert list(verify()) == []


@pytest.mark.django_db
def test_every_demo_account_can_sign_in(client, django_capture_on_commit_callbacks):
    load()
    for username, _role, _scope, password, _person in demo.DEMO_USERS:
        if not password:
            continue
        assert client.login(username=username, password=password), username
        client.logout()

    # the registry officer passes the second factor with the code demo_otp prints
    assert client.login(username="registry_officer", password="Tiedao-Ledger-2026")
    assert client.get(reverse("core:baseline")).status_code == 302  # sent to the second factor
    out = StringIO()
    call_command("demo_otp", "registry_officer", stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6
    response = client.post(reverse("core:otp"), {"token": code})
    assert response.status_code == 302
    assert client.get(reverse("core:baseline")).status_code == 200
    client.logout()

    # the resident signs in with an SMS code
    from gongzhi.core.sms import LocmemBackend

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("core:sms-login"), {"send": "1", "phone": demo.RESIDENT_PHONE})
    text = LocmemBackend.outbox[-1]["text"]
    code = re.search(r"验证码是(\d{6})", text).group(1)
    response = client.post(reverse("core:sms-login"), {"code": code})
    assert response.status_code == 302
    assert client.get(reverse("core:baseline")).status_code == 200
    resident = User.objects.get(username="resident")
    assert resident.person.phone == demo.RESIDENT_PHONE
    assert resident.person.residences.filter(unit__compound__name="油漆厂家属院").exists()
