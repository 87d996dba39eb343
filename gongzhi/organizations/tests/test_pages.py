import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from gongzhi.organizations.models import LiaisonAssignment, Membership, Organization
from gongzhi.organizations.tests.builders import add_bulk, build_coverage_district, kind


@pytest.fixture
def cov(mini):
    return build_coverage_district(mini)


@pytest.fixture
def worker(client, cov, persona):
    user = persona("community_worker")
    client.force_login(user)
    return user


def coverage_url(node, **params):
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    return f"{reverse('organizations:coverage')}?node={node.pk}{extra}"


def test_coverage_page_shows_marks_with_text_and_counts(client, worker, cov):
    response = client.get(coverage_url(cov.mini.community))
    assert response.status_code == 200
    html = response.content.decode()
    assert "✓ 有" in html and "✗ 无" in html  # never colour alone
    page = response.context["page"]
    assert {r.name: (r.households, r.households_without_liaison) for r in page} == {
        "油漆厂家属院": (3, 1),
        "铁路小区一院": (2, 1),
        "电厂小区": (2, 2),
    }
    grand = response.context["grand"]
    assert (grand.compounds, grand.with_all_three, grand.households, grand.households_without_liaison) == (3, 1, 7, 4)


def test_only_incomplete_filter_and_keyset_paging(client, worker, cov, monkeypatch):
    # Complete C1: its one household without a liaison gets one.
    from gongzhi.organizations import actions, views

    actions.assign_liaison(cov.liaison1, [cov.mini.units[2]], actor=None)
    response = client.get(coverage_url(cov.mini.community, only_incomplete=1))
    assert {r.name for r in response.context["page"]} == {"铁路小区一院", "电厂小区"}
    monkeypatch.setattr(views, "PAGE", 2)
    first = client.get(coverage_url(cov.mini.community)).context["page"]
    assert len(first.rows) == 2 and first.next_after == first.rows[-1].compound_id
    second = client.get(coverage_url(cov.mini.community, after=first.next_after)).context["page"]
    assert len(second.rows) == 1 and second.next_after is None
    assert {r.compound_id for r in first.rows} | {r.compound_id for r in second.rows} == {
        cov.c1.pk,
        cov.c2.pk,
        cov.c3.pk,
    }


def test_household_drill_down_masks_names_and_pages_by_key(client, worker, cov, monkeypatch):
    from gongzhi.organizations import views

    url = reverse("organizations:coverage-households", args=[cov.c3.pk])
    response = client.get(url)
    html = response.content.decode()
    assert "周*" in html and "吴*" in html and "周先生" not in html
    monkeypatch.setattr(views, "PAGE", 1)
    first = client.get(url)
    assert len(first.context["rows"]) == 1
    second = client.get(f"{url}?after={first.context['next_after']}")
    assert len(second.context["rows"]) == 1 and second.context["next_after"] is None
    assert first.context["rows"][0].unit_id != second.context["rows"][0].unit_id


def test_export_opens_and_has_the_page_numbers(client, worker, cov):
    response = client.get(f"{reverse('organizations:coverage-export')}?node={cov.mini.community.pk}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book.worksheets[0]
    rows = {r[2]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["油漆厂家属院"][4:] == ("有", "有", "有", 3, 1)
    assert rows["铁路小区一院"][4:] == ("有", "有", "无", 2, 1)
    assert rows["电厂小区"][4:] == ("无", "无", "无", 2, 2)
    totals = list(book.worksheets[1].iter_rows(min_row=2, values_only=True))
    assert totals[-1] == ("合计", 3, 2, 2, 1, 1, 7, 4)


@pytest.mark.parametrize(
    "role,where,status",
    [
        ("community_worker", "community", 200),
        ("subdistrict_staff", "subdistrict", 200),
        ("community_worker", "other_subdistrict", 404),
        ("subdistrict_staff", "other_subdistrict", 404),
        ("resident", "community", 403),
    ],
)
def test_coverage_scope_matrix(client, cov, persona, role, where, status):
    user = persona(role, getattr(cov.mini, where))
    client.force_login(user)
    assert client.get(coverage_url(cov.mini.community)).status_code == status
    assert client.get(reverse("organizations:coverage-households", args=[cov.c3.pk])).status_code == status
    assert client.get(f"{reverse('organizations:coverage-export')}?node={cov.mini.community.pk}").status_code == status


def test_other_subdistrict_worker_sees_only_their_own_empty_coverage(client, cov, persona):
    client.force_login(persona("community_worker", cov.mini.other_subdistrict))
    response = client.get(reverse("organizations:coverage"))
    assert response.status_code == 200
    assert [r.name for r in response.context["page"]] == ["桃源路47号院"]
    assert client.get(reverse("organizations:detail", args=[cov.group1.pk])).status_code == 404


@pytest.mark.parametrize("extra", [0, 12])
def test_coverage_page_query_budget(client, worker, cov, django_assert_max_num_queries, extra):
    if extra:
        add_bulk(cov.committee, extra, 3)
    # session, user, roles, node, communities, page, totals, breadcrumbs + 3 for the session save
    with django_assert_max_num_queries(11):
        response = client.get(coverage_url(cov.mini.community))
    assert response.context["grand"].compounds == 3 + extra
    with django_assert_max_num_queries(9):
        assert client.get(reverse("organizations:coverage-households", args=[cov.c3.pk])).status_code == 200
    with django_assert_max_num_queries(11):  # one query per 500 compounds beyond the first 500
        response = client.get(f"{reverse('organizations:coverage-export')}?node={cov.mini.community.pk}")
        b"".join(response.streaming_content)


@pytest.mark.parametrize("extra", [0, 12])
def test_org_pages_query_budget(client, worker, cov, django_assert_max_num_queries, extra):
    if extra:
        add_bulk(cov.committee, extra, 3)
    with django_assert_max_num_queries(10):
        assert client.get(f"{reverse('organizations:list')}?node={cov.mini.community.pk}").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("organizations:detail", args=[cov.group1.pk])).status_code == 200


def test_detail_shows_masked_members_with_liaison_household_count(client, worker, cov):
    response = client.get(reverse("organizations:detail", args=[cov.group1.pk]))
    html = response.content.decode()
    assert "郑**" in html and "郑红梅" not in html
    assert "137****2222" in html
    (row,) = response.context["members"]
    assert row["households"] == 3  # units 0, 1 and the empty unit 3


def test_create_organization_form_shows_chain_error_in_summary(client, worker, cov):
    url = f"{reverse('organizations:create')}?node={cov.mini.community.pk}"
    response = client.post(
        url,
        {
            "kind": kind("courtyard_party_group").pk,
            "node": cov.c3.pk,
            "name": "电厂小区党小组",
            "parent": cov.committee.pk,
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "error-summary" in html and "上级组织必须是小区党支部" in html
    response = client.post(url, {"kind": kind("volunteer_team").pk, "node": cov.c3.pk, "name": "电厂小区志愿服务队"})
    org = Organization.objects.get(name="电厂小区志愿服务队")
    assert response.status_code == 302 and response.url == reverse("organizations:detail", args=[org.pk])


def test_add_member_then_assign_households_by_building(client, worker, cov):
    org = cov.branch2
    response = client.post(
        reverse("organizations:member-add", args=[org.pk]),
        {"name": "冯志强", "phone": "13600004444", "role": "liaison", "is_party_member": "on"},
    )
    assert response.status_code == 302
    m = Membership.objects.get(organization=org, person__name="冯志强")
    building = cov.c2_units[0].node
    url = f"{reverse('organizations:liaison-households', args=[org.pk, m.pk])}?building={building.pk}"
    page = client.get(url)
    assert page.status_code == 200 and len(page.context["units"]) == 4
    response = client.post(url, {"action": "assign", "units": [u.pk for u in cov.c2_units[:2]]})
    assert response.status_code == 302
    # Unit 0 moved from the old liaison to the new one; exactly one current liaison per unit.
    assert LiaisonAssignment.objects.get(unit=cov.c2_units[0], until__isnull=True).liaison == m
    assert LiaisonAssignment.objects.filter(unit=cov.c2_units[0]).count() == 2


def test_member_form_requires_party_membership_for_liaison(client, worker, cov):
    response = client.post(
        reverse("organizations:member-add", args=[cov.branch2.pk]),
        {"name": "冯志强", "phone": "13600004444", "role": "liaison"},
    )
    assert response.status_code == 200
    assert "党员联络员必须是党员" in response.content.decode()
