"""Registry pages: what each page shows, masking on the server, the audited reveal, keyset pages, query budgets."""

from decimal import Decimal

import pytest
from django.urls import reverse

from gongzhi.core.models import AuditEntry
from gongzhi.organizations.models import Organization
from gongzhi.registry.selectors import UNITS_PAGE
from gongzhi.registry.tests.pages_helpers import (
    FULL_PHONE,
    ID_NUMBER,
    MASKED_PHONE,
    add_orgs,
    add_owner,
    grow,
    org_kind,
    sign_in,
)

# Fixed budgets: the same number must hold at 5 units / 2 compounds and at 200 units / 40 compounds.
# They include the sign-in bookkeeping (session, user, roles, the second-factor device, the session save).
BUDGETS = {
    "browse": 10,
    "area": 12,
    "compound": 13,
    "building": 14,
    "unit": 13,
    "search_name": 10,
    "search_unit": 10,
    "search_phone": 11,
}


def main_html(response) -> str:
    return response.content.decode().split('<main id="main"', 1)[1].split("</main>", 1)[0]


@pytest.fixture
def owned(mini):
    add_owner(mini.units[0], designated_voter=True)
    return mini


@pytest.mark.django_db
def test_compound_page_shows_facts_datum_elderly_share_and_the_three_kinds(client, mini, persona):
    add_orgs(mini)
    sign_in(client, persona("community_worker"))
    html = main_html(client.get(reverse("registry:node", args=[mini.courtyard.pk])))
    assert "1986" in html and "无主管" in html and "未收取" in html
    assert "34.737200" in html and "WGS-84" in html
    assert "66.7%" in html and "33.3%" in html  # 2 of 3 residents are 60+, 1 of 3 is 80+
    assert "油漆厂楼院党小组" in html and "红马甲志愿队" in html and "铁道家园社区大党委" in html
    assert html.count("已建立") == 2 and html.count("缺少") == 1  # party and volunteer present; self-governance missing
    assert "1号楼" in html  # its buildings with counts
    assert "福华街街道" in html  # breadcrumbs


@pytest.mark.django_db
@pytest.mark.parametrize("levels", ["erqi", "no estate level"])
def test_the_compound_page_and_the_coverage_report_count_the_same_organisations(client, mini, persona, levels):
    """One rule (organizations.kinds.serves_compound): the community's organisations serve many compounds and never
    make up a compound's 三类组织 — also where no 小区 level lies between the community and the 楼院."""
    from gongzhi.organizations.selectors import coverage_for
    from gongzhi.registry import actions
    from gongzhi.registry.models import AreaLevel

    if levels == "no estate level":  # 楼院 right below 社区: the old "one level above the compound" rule misfired
        for code, depth in (("estate", 10), ("courtyard", 3), ("building", 4), ("entrance", 5)):
            AreaLevel.objects.filter(code=code).update(depth=depth)
    add_orgs(mini)  # 社区大党委 at the community; a party group and volunteers in the 楼院
    direct = actions.create_area_node(
        actor=None, parent=mini.community, level=AreaLevel.objects.get(code="courtyard"), name="直属楼院"
    )
    Organization.objects.create(kind=org_kind("t_vol", "志愿服务队", "volunteer"), name="直属志愿队", node=direct)
    sign_in(client, persona("community_worker"))
    report = {row.compound_id: row for row in coverage_for(mini.community)}
    for compound in (mini.courtyard, direct):
        html = main_html(client.get(reverse("registry:node", args=[compound.pk])))
        row = report[compound.pk]
        assert html.count("已建立") == sum([row.has_party, row.has_self_governance, row.has_volunteer]), compound.name
    assert not report[direct.pk].has_party and report[direct.pk].has_volunteer
    assert report[mini.courtyard.pk].has_party


@pytest.mark.django_db
def test_building_page_lists_units_with_area_source_and_masked_owners(client, owned, persona):
    sign_in(client, persona("community_worker"))
    html = main_html(client.get(reverse("registry:node", args=[owned.building.pk])))
    assert "101" in html and "62.50" in html and "不动产登记" in html
    assert "张**" in html and "张建华" not in html


@pytest.mark.django_db
def test_unit_table_escapes_what_it_shows_and_names_the_voter(client, owned, persona):
    from gongzhi.registry import actions

    unit = actions.create_unit(actor=None, node=owned.entrance, number="<b>9</b>", area_contract=Decimal("40.00"))
    add_owner(unit, name="王小明", phone="", id_number="")
    works = actions.create_person(actor=None, name="A&B <机械厂>", kind="legal", home_path=unit.path)
    actions.add_ownership(actor=None, unit=unit, person=works)
    sign_in(client, persona("community_worker"))
    html = main_html(client.get(reverse("registry:node", args=[owned.building.pk])))
    assert "&lt;b&gt;9&lt;/b&gt;" in html and "<b>9</b>" not in html
    assert "王**、A&amp;B &lt;机械厂&gt;" in html  # a work unit's name is not masked, but it is escaped
    assert "（表决人）" in html and "合同" in html and "40.00" in html
    assert "未登记" in html  # a unit of the mini district without owners
    assert f'href="{reverse("registry:unit", args=[unit.pk])}"' in html


@pytest.mark.django_db
def test_units_page_by_key_without_gaps_or_repeats(client, mini, persona):
    grow(mini, units=150, compounds=0)
    sign_in(client, persona("community_worker"))
    url = reverse("registry:node", args=[mini.building.pk])
    first = client.get(url)
    rows = first.context["unit_rows"]
    assert len(rows) == UNITS_PAGE
    after = first.context["units"].next_after
    assert f"?after={after}" in first.content.decode()
    while after:
        page = client.get(url, {"after": after})
        rows += page.context["unit_rows"]
        after = page.context["units"].next_after
    assert len(page.context["unit_rows"]) == 156 % UNITS_PAGE
    ids = [r["pk"] for r in rows]
    assert ids == sorted(set(ids)) and len(ids) == 156
    assert client.get(url, {"after": "abc"}).status_code == 200  # a bad key starts again at the top


@pytest.mark.django_db
def test_child_lists_page_by_name(client, mini, persona):
    grow(mini, units=0, compounds=60)
    sign_in(client, persona("community_worker"))
    url = reverse("registry:node", args=[mini.community.pk])
    first = client.get(url).context["children"]
    assert len(first.rows) == 50 and first.next_after
    second = client.get(url, {"after": first.next_after}).context["children"]
    names = [n.name for n in first.rows + second.rows]
    assert len(names) == 61 and names == sorted(names) and second.next_after is None


@pytest.mark.django_db
def test_unit_page_masks_for_a_community_worker_and_refuses_the_reveal(client, owned, persona):
    sign_in(client, persona("community_worker"))
    url = reverse("registry:unit", args=[owned.units[0].pk])
    response = client.get(url)
    html = response.content.decode()
    assert MASKED_PHONE in html and FULL_PHONE not in html
    assert ID_NUMBER not in html and "110105********002X" in html
    assert "张建华" not in html and "张**" in html
    assert "80岁及以上" in html and "1941" not in html  # age band, never the birth date
    assert "显示完整信息" not in html
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert client.post(url, {"reveal": "1"}).status_code == 403
    assert not AuditEntry.objects.filter(action="pii.view").exists()


@pytest.mark.django_db
def test_verified_registry_officer_reveals_and_each_reveal_is_audited(client, owned, persona):
    officer = persona("registry_officer")
    sign_in(client, officer, verified=True)
    url = reverse("registry:unit", args=[owned.units[0].pk])
    html = client.get(url).content.decode()
    assert "显示完整信息" in html and FULL_PHONE not in html  # masked until asked
    revealed = client.post(url, {"reveal": "1"})
    assert revealed.status_code == 200
    html = revealed.content.decode()
    assert FULL_PHONE in html and ID_NUMBER in html and "张建华" in html
    owner = owned.units[0].ownerships.get().person
    entry = AuditEntry.objects.get(action="pii.view", target_type="registry.person", target_id=str(owner.pk))
    assert entry.actor == officer and "phone" in entry.changes["fields"] and "id_number" in entry.changes["fields"]
    assert AuditEntry.objects.filter(action="pii.view").count() == 4  # the owner and the three residents


@pytest.mark.django_db
def test_an_unverified_officer_is_sent_to_the_second_factor(client, owned, persona):
    sign_in(client, persona("registry_officer"), verified=False)
    url = reverse("registry:unit", args=[owned.units[0].pk])
    response = client.get(url)
    assert response.status_code == 302 and reverse("core:otp") in response["Location"]
    # Not enrolled yet: the second-factor page asks for the administrator's enrolment code and shows no secret.
    otp_page = client.get(response["Location"])
    assert otp_page.context["step"] == "code" and otp_page.context["secret"] == ""
    assert "otpauth://" not in otp_page.content.decode()
    assert client.post(url, {"reveal": "1"}).status_code == 302
    assert not AuditEntry.objects.filter(action="pii.view").exists()


@pytest.mark.django_db
def test_without_the_second_factor_requirement_the_permission_alone_decides(client, owned, persona, settings):
    settings.GONGZHI_REQUIRE_SECOND_FACTOR = False  # the demo walk-through setting
    sign_in(client, persona("registry_officer"), verified=False)
    url = reverse("registry:unit", args=[owned.units[0].pk])
    assert FULL_PHONE in client.post(url, {"reveal": "1"}).content.decode()
    client.logout()
    sign_in(client, persona("community_worker"))
    assert client.post(url, {"reveal": "1"}).status_code == 403


@pytest.mark.django_db
def test_search_finds_compounds_units_and_people_masked(client, owned, persona):
    sign_in(client, persona("community_worker"))
    search = reverse("registry:search")
    html = main_html(client.get(search, {"q": "福华街12"}))
    assert "油漆厂家属院" in html  # by address
    for q in ("1-1-101", "1号楼-1单元-101", "油漆厂 1-1-101"):
        html = main_html(client.get(search, {"q": q}))
        assert reverse("registry:unit", args=[owned.units[0].pk]) in html, q
    html = main_html(client.post(search, {"q": FULL_PHONE}))
    assert "张**" in html and MASKED_PHONE in html and FULL_PHONE not in html.replace(f'value="{FULL_PHONE}"', "")
    html = main_html(client.post(search, {"q": ID_NUMBER}))
    assert "张**" in html and "110105********002X" in html
    html = main_html(client.post(search, {"q": "110105194912310021"}))
    assert "校验位" in html  # a mistyped ID number is named, not silently not found
    html = main_html(client.post(search, {"q": "1-1-101"}))  # the form posts every search
    assert reverse("registry:unit", args=[owned.units[0].pk]) in html


@pytest.mark.django_db
@pytest.mark.parametrize("q", [FULL_PHONE, ID_NUMBER, "138 1234 5678"])
def test_phones_and_id_numbers_are_not_looked_up_from_the_address(client, owned, persona, q):
    """They would stay in browser history, server logs and Referer headers: only the posted form looks them up."""
    sign_in(client, persona("community_worker"))
    response = client.get(reverse("registry:search"), {"q": q})
    assert response.status_code == 400
    html = main_html(response)
    assert "不能放在网址里" in html and "张**" not in html and q not in html
    assert 'method="post"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("size", [(5, 2), (200, 40)], ids=["small", "large"])
def test_page_query_budgets_hold_at_two_sizes(client, mini, persona, django_assert_max_num_queries, size):
    units, compounds = size
    grow(mini, units=units, compounds=compounds)
    sign_in(client, persona("registry_officer"))  # the costliest sign-in: roles plus the second-factor device
    pages = {
        "browse": reverse("registry:browse"),
        "area": reverse("registry:node", args=[mini.community.pk]),
        "compound": reverse("registry:node", args=[mini.courtyard.pk]),
        "building": reverse("registry:node", args=[mini.building.pk]),
        "unit": reverse("registry:unit", args=[mini.units[0].pk]),
        "search_name": reverse("registry:search") + "?q=新村",
        "search_unit": reverse("registry:search") + "?q=1-1-101",
    }
    for name, url in pages.items():
        with django_assert_max_num_queries(BUDGETS[name], info=name):
            assert client.get(url).status_code == 200
    with django_assert_max_num_queries(BUDGETS["search_phone"], info="search_phone"):
        assert client.post(reverse("registry:search"), {"q": FULL_PHONE}).status_code == 200
    with django_assert_max_num_queries(BUDGETS["building"]):
        client.get(pages["building"], {"after": mini.units[-1].pk})


@pytest.mark.django_db
def test_admin_is_read_only_and_masked(client, owned):
    from testkit.world import make_user

    admin_user = make_user("root", is_superuser=True, is_staff=True)
    sign_in(client, admin_user)
    person = owned.units[0].ownerships.get().person
    for url in (
        "/admin/registry/person/",
        f"/admin/registry/person/{person.pk}/change/",
        "/admin/registry/unit/",
        "/admin/registry/areanode/",
        f"/admin/registry/areanode/{owned.courtyard.pk}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert FULL_PHONE not in html and ID_NUMBER not in html and "张建华" not in html, url
    assert client.get("/admin/registry/unit/add/").status_code == 403
