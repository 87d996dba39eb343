"""Pages: the permission matrix (roles × scope × stage), the residents' flows, query budgets at two sizes."""

from datetime import date

import pytest
from django.urls import reverse

from gongzhi.deliberation import actions
from gongzhi.deliberation.models import Objection, Opinion, Reach
from gongzhi.deliberation.tests.builders import courtyard_set, resident_user
from gongzhi.registry import actions as registry
from testkit import world as testing

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(scene, persona, mini):
    return {
        "anonymous": None,
        "resident": scene.resident,
        "outsider": scene.outsider,
        "worker": scene.officer,
        "operator": scene.operator,
        "worker_elsewhere": persona("community_worker", mini.other_subdistrict, "worker-elsewhere"),
        "party_secretary": scene.secretary,
    }


def status(client, user, url, method="get", data=None):
    client.logout()
    if user is not None:
        client.force_login(user)
    response = getattr(client, method)(url, data or {})
    return response.status_code


# (who, page) → expected status, in the 一征 stage
SOLICIT_MATRIX = {
    "anonymous": {"list": 302, "matter": 302, "households": 302, "opinion": 302},
    # Non-staff users get their own list (matters covering their home), so the list page answers 200.
    "resident": {"list": 200, "matter": 200, "households": 403, "opinion": 200},
    "outsider": {"list": 200, "matter": 404, "households": 404, "opinion": 404},
    "worker": {"list": 200, "matter": 200, "households": 200, "opinion": 403},
    "operator": {"list": 200, "matter": 200, "households": 200, "opinion": 403},
    "worker_elsewhere": {"list": 200, "matter": 404, "households": 404, "opinion": 404},
    "party_secretary": {"list": 200, "matter": 404, "households": 404, "opinion": 404},
}


def urls(m):
    return {
        "list": reverse("deliberation:list"),
        "matter": reverse("deliberation:matter", args=[m.pk]),
        "households": reverse("deliberation:households", args=[m.pk]),
        "opinion": reverse("deliberation:opinion_kind", args=[m.pk]),
    }


def test_permission_matrix_in_the_solicit_stage(client, scene, people):
    got = {
        who: {page: status(client, user, url) for page, url in urls(scene.matter).items()}
        for who, user in people.items()
    }
    assert got == SOLICIT_MATRIX


def test_residents_list_shows_only_matters_covering_their_home(client, scene, people):
    client.force_login(people["resident"])
    assert scene.matter.title in client.get(reverse("deliberation:list")).content.decode()
    client.force_login(people["outsider"])
    assert scene.matter.title not in client.get(reverse("deliberation:list")).content.decode()


def test_feature_permissions_follow_the_stage(scene, people, set_today):
    m = scene.matter
    perms = ("submit_opinion", "enter_opinion", "amend_proposal", "manage_meeting", "lodge_objection", "advance_matter")

    def allowed(who):
        user = people[who]
        user.__dict__.pop("_gz_body_member", None)
        return {p for p in perms if user.has_perm(f"deliberation.{p}", m)}

    assert allowed("resident") == {"submit_opinion"}
    assert allowed("operator") == {"enter_opinion"}
    assert allowed("worker") == {"enter_opinion", "advance_matter"}
    assert allowed("worker_elsewhere") == set()
    assert allowed("party_secretary") == set()  # the branch does not own 一征
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 9, 1))
    m.refresh_from_db()
    assert allowed("resident") == set()
    assert allowed("operator") == set()
    assert allowed("worker") == {"amend_proposal", "manage_meeting", "advance_matter"}
    assert allowed("party_secretary") == {"amend_proposal", "manage_meeting", "advance_matter"}  # the branch proposes


def test_resident_opinion_flow_one_question_per_page(client, scene):
    m = scene.matter
    client.force_login(scene.resident)
    page = client.post(reverse("deliberation:opinion_kind", args=[m.pk]), {})
    assert page.status_code == 200 and "error-summary" in page.content.decode()
    assert client.post(reverse("deliberation:opinion_kind", args=[m.pk]), {"kind": "need"}).status_code == 302
    assert client.post(reverse("deliberation:opinion_text", args=[m.pk]), {"text": "希望加装电梯"}).status_code == 302
    check = client.get(reverse("deliberation:opinion_check", args=[m.pk]))
    assert "希望加装电梯" in check.content.decode()
    done = client.post(reverse("deliberation:opinion_check", args=[m.pk]), {"idempotency_key": "k1"}, follow=True)
    opinion = Opinion.objects.get()
    assert opinion.reference in done.content.decode()
    assert (opinion.channel, opinion.on_behalf_of, opinion.person) == ("online", None, scene.resident_person)


def test_operator_entry_page_records_on_behalf_and_reach(client, scene):
    m, unit = scene.matter, scene.mini.units[1]
    client.force_login(scene.operator)
    url = reverse("deliberation:operator_entry", args=[m.pk, unit.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "form": "opinion",
            "person": scene.resident_person.pk,
            "channel": "hotline",
            "kind": "need",
            "text": "家有老人，盼电梯",
            "idempotency_key": "abc",
        },
    )
    assert response.status_code == 302
    opinion = Opinion.objects.get()
    assert (opinion.entered_by, opinion.on_behalf_of) == (scene.operator, scene.resident_person)
    assert client.post(url, {"form": "reach", "channel": "door"}).status_code == 302
    other = scene.mini.units[2]
    client.post(
        reverse("deliberation:operator_entry", args=[m.pk, other.pk]),
        {"form": "reach", "channel": "door", "note": "无意见"},
    )
    assert Reach.objects.filter(matter=m).count() == 2


def test_not_reached_households_page_by_key_with_masked_names(client, scene, mini):
    m = scene.matter
    client.force_login(scene.officer)
    page = client.get(reverse("deliberation:households", args=[m.pk])).content.decode()
    assert "张**" in page and "张建国" not in page  # unit 0's owners, masked
    actions.mark_reached(m, actor=scene.operator, unit=mini.units[0])
    page = client.get(reverse("deliberation:households", args=[m.pk])).content.decode()
    assert "张**" not in page
    rows = __import__("gongzhi.deliberation.selectors", fromlist=["x"]).not_reached_page(m, after=mini.units[3].pk)
    assert [r.unit.pk for r in rows] == [u.pk for u in mini.units[4:]]


def grow(mini, n):
    """Add `n` units (each with a resident) to the courtyard's building, and opinions on the matter."""
    for i in range(n):
        unit = registry.create_unit(actor=None, node=mini.building, number=f"9{i:02d}", area_registered=60)
        person = registry.create_person(actor=None, name=f"住户{i}", home_path=unit.path)
        registry.add_residence(actor=None, unit=unit, person=person, relation="owner")


def test_query_budgets_do_not_grow_with_data(client, scene, mini, django_assert_max_num_queries):
    m = scene.matter
    client.force_login(scene.officer)
    pages = [
        reverse("deliberation:list"),
        reverse("deliberation:matter", args=[m.pk]),
        reverse("deliberation:households", args=[m.pk]),
    ]
    budgets = {}
    for url in pages:
        with django_assert_max_num_queries(40) as ctx:
            assert client.get(url).status_code == 200
        budgets[url] = len(ctx.captured_queries)
    grow(mini, 60)
    for i in range(30):
        actions.enter_opinion(
            m,
            actor=scene.operator,
            on_behalf_of=scene.resident_person,
            unit=mini.units[1],
            text=f"意见{i}",
            channel="door",
        )
        actions.create_matter(actor=scene.officer, title=f"议题{i}", unit_set=courtyard_set(mini))
    for url in pages:
        with django_assert_max_num_queries(budgets[url]) as ctx:
            assert client.get(url).status_code == 200


def test_objection_page_and_confirmation(client, scene, set_today):
    from gongzhi.deliberation.tests.test_flow import resolve_by_assembly, to_resolve

    m = to_resolve(scene, set_today)
    resolve_by_assembly(scene, m, date(2026, 9, 24))
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 9, 24))
    set_today(date(2026, 9, 28))
    client.force_login(scene.resident)
    url = reverse("deliberation:objection", args=[m.pk])
    assert "error-summary" in client.post(url, {"reasons": ""}).content.decode()
    done = client.post(url, {"reasons": "费用分摊不合理", "idempotency_key": "o1"})
    objection = Objection.objects.get()
    assert objection.reference in done.content.decode()
    client.force_login(scene.outsider)
    assert client.get(url).status_code == 404
    # The officer sees and answers it on the matter page.
    client.force_login(scene.officer)
    page = client.get(reverse("deliberation:matter", args=[m.pk])).content.decode()
    assert objection.reference in page and "异议未答复" in page
    client.post(
        reverse("deliberation:action", args=[m.pk, "answer"]), {"objection": objection.pk, "answer": "已上门解释"}
    )
    objection.refresh_from_db()
    assert objection.status == "answered"


def test_advance_confirmation_page_shows_the_reasons(client, scene, set_today):
    m = scene.matter
    actions.advance_matter(m, actor=scene.officer, today=date(2026, 9, 1))
    client.force_login(scene.officer)
    page = client.get(reverse("deliberation:advance", args=[m.pk])).content.decode()
    assert "尚未形成方案" in page
    client.post(reverse("deliberation:advance", args=[m.pk]), {})
    m.refresh_from_db()
    assert m.stage.code == "propose"


def test_new_matter_page(client, scene, mini):
    client.force_login(scene.officer)
    unit_set = courtyard_set(mini)
    response = client.post(reverse("deliberation:new"), {"title": "楼道照明改造", "unit_set": unit_set.pk})
    assert response.status_code == 302
    resident, _ = resident_user(mini.units[3], "r3", "钱多多")
    client.force_login(resident)
    assert client.get(reverse("deliberation:new")).status_code == 403
    assert testing  # builders imported for personas
