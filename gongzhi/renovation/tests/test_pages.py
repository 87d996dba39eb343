"""Renovation pages: who sees what (role × stage), the resident's ordering flow, bad input, query budgets."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.urls import reverse

from gongzhi.renovation import actions
from gongzhi.renovation.models import Defect, Order, Project
from gongzhi.renovation.tests.builders import build_scene, soon, to_works
from testkit import world as testing

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(mini):
    return build_scene(mini)


def login(client, user):
    client.force_login(user)
    return client


def url(name, *args):
    return reverse(f"renovation:{name}", args=args)


def test_resident_sees_the_bill_and_orders_in_three_steps(client, scene):
    p, unit = scene.project, scene.mini.units[1]
    login(client, scene.resident)
    page = client.get(url("project", p.pk))
    assert page.status_code == 200
    body = page.content.decode()
    assert "¥160.00" in body and "¥300.00" in body  # pipes and meter, before agreeing
    step = client.get(url("order-item", p.pk, unit.pk, scene.pipes.pk))
    assert "¥160.00" in step.content.decode()
    bad = client.post(url("order-item", p.pk, unit.pk, scene.pipes.pk), {})
    assert bad.status_code == 400 and "error-summary" in bad.content.decode()
    nxt = client.post(url("order-item", p.pk, unit.pk, scene.pipes.pk), {"answer": "yes", "willing_to_pay": "on"})
    assert nxt.status_code == 302 and not Order.objects.exists()  # nothing written before the check page
    done = client.post(url("order-check", p.pk, unit.pk, scene.pipes.pk))
    assert done.status_code == 302
    order = Order.objects.get()
    assert order.agrees and order.willing_to_pay and str(order.seen_share) == "160.00"
    assert f"R{order.pk}" in client.get(done["Location"]).content.decode()


def test_an_order_is_not_recorded_against_a_cost_that_changed_after_the_resident_looked(client, scene):
    """The check page showed ¥160.00; the item's cost changes before the resident confirms: refused, shown the
    new figure, and only a second confirmation of that figure orders."""
    p, unit = scene.project, scene.mini.units[1]
    login(client, scene.resident)
    client.post(url("order-item", p.pk, unit.pk, scene.pipes.pk), {"answer": "yes", "willing_to_pay": "on"})
    shown = client.get(url("order-check", p.pk, unit.pk, scene.pipes.pk)).content.decode()
    assert 'name="seen_share" value="160.00"' in shown
    district_admin = testing.make_user("menu", "district_admin", scene.mini.district)
    actions.update_menu_item(scene.pipes, actor=district_admin, unit_cost=scene.pipes.unit_cost * 2)
    refused = client.post(url("order-check", p.pk, unit.pk, scene.pipes.pk), {"seen_share": "160.00"})
    body = refused.content.decode()
    assert refused.status_code == 400 and "error-summary" in body and not Order.objects.exists()
    assert 'name="seen_share" value="320.00"' in body  # the new figure, to confirm again
    done = client.post(url("order-check", p.pk, unit.pk, scene.pipes.pk), {"seen_share": "320.00"})
    assert done.status_code == 302 and str(Order.objects.get().seen_share) == "320.00"


def test_resident_cannot_open_another_households_order_page(client, scene):
    login(client, scene.resident)
    assert client.get(url("order-item", scene.project.pk, scene.mini.units[2].pk, scene.pipes.pk)).status_code == 404
    login(client, scene.outsider)
    assert client.get(url("project", scene.project.pk)).status_code == 404


def test_worker_pages_and_links_follow_permissions(client, scene):
    p = scene.project
    login(client, scene.officer)
    body = client.get(url("project", p.pk)).content.decode()
    assert url("tallies", p.pk) in body and url("proxy-order", p.pk) in body
    assert client.get(url("tallies", p.pk)).status_code == 200
    assert client.get(url("door", p.pk)).status_code == 200
    login(client, scene.resident)
    body = client.get(url("project", p.pk)).content.decode()
    assert url("tallies", p.pk) not in body and url("works", p.pk) not in body
    assert client.get(url("tallies", p.pk)).status_code == 403
    assert client.get(url("works", p.pk)).status_code == 403


def test_proxy_order_names_the_field_at_fault(client, scene):
    p = scene.project
    login(client, scene.operator)
    response = client.post(
        url("proxy-order", p.pk),
        {
            "unit": scene.mini.units[3].pk,
            "person": scene.resident_person.pk,
            "item": scene.pipes.pk,
            "answer": "yes",
            "channel": "door",
        },
    )
    assert response.status_code == 400 and "error-summary" in response.content.decode()
    assert not Order.objects.exists()
    ok = client.post(
        url("proxy-order", p.pk),
        {
            "unit": scene.mini.units[1].pk,
            "person": scene.resident_person.pk,
            "item": scene.pipes.pk,
            "answer": "yes",
            "channel": "hotline",
        },
    )
    assert ok.status_code == 302 and Order.objects.get().channel == "hotline"


def test_adopt_plan_from_the_tallies_page(client, scene):
    p = scene.project
    login(client, scene.officer)
    assert client.post(url("tallies", p.pk), {"do": "adopt"}).status_code == 302
    p.refresh_from_db()
    assert p.plan_adopted_at is not None
    assert (
        "纳入计划" in client.get(url("tallies", p.pk)).content.decode()
        or "未通过" in client.get(url("tallies", p.pk)).content.decode()
    )


# role × stage: (perm-bearing page, who, stage) → status
@pytest.mark.parametrize(
    ("who", "stage", "page", "expected"),
    [
        ("officer", "ordering", "tallies", 200),
        ("operator", "ordering", "proxy-order", 200),
        ("operator", "works", "proxy-order", 403),  # ordering has ended
        ("resident", "works", "proxy-order", 403),
        ("contractor_user", "works", "works", 200),
        ("other_contractor", "works", "works", 200),  # sees works in scope (staff) but may not report (below)
        ("resident", "works", "report-defect", 200),
        ("resident", "ordering", "report-defect", 403),  # no defects before works
        ("supervisor_user", "works", "supervision", 200),
        ("outsider", "works", "supervision", 404),
        ("contractor_user", "ordering", "import", 403),  # progress only in works
        ("contractor_user", "works", "import", 200),
        ("other_contractor", "works", "import", 403),  # not its project
    ],
)
def test_role_by_stage(client, scene, who, stage, page, expected):
    if stage == "works":
        to_works(scene)
    login(client, getattr(scene, who))
    assert client.get(url(page, scene.project.pk)).status_code == expected


def test_contractor_answers_a_defect_by_token_link_without_an_account(client, scene):
    p = to_works(scene)
    defect = actions.report_defect(
        p, actor=scene.inspector, source="inspector", description="雨水管破损", deadline=soon()
    )
    page = client.get(url("defect-answer", defect.token))
    assert page.status_code == 200 and "雨水管破损" in page.content.decode()
    bad = client.post(url("defect-answer", defect.token), {"name": "", "note": ""})
    assert bad.status_code == 400 and "error-summary" in bad.content.decode()
    ok = client.post(url("defect-answer", defect.token), {"name": "王工", "note": "已更换"})
    assert ok.status_code == 302
    defect.refresh_from_db()
    assert defect.status == "resolved"
    assert client.get(url("defect-answer", "nope")).status_code == 404


def test_acceptance_refused_on_the_page_while_a_defect_is_open(client, scene):
    p = to_works(scene)
    actions.report_defect(p, actor=scene.inspector, source="inspector", description="护栏松动", deadline=soon())
    login(client, scene.officer)
    response = client.post(url("supervision", p.pk), {"do": "accept"})
    assert response.status_code == 409
    assert "未销项" in response.content.decode()
    assert Project.objects.get(pk=p.pk).stage == "works"


def test_progress_page_refuses_bad_input_and_writes_nothing(client, scene):
    p = to_works(scene)
    work = p.work_items.get()
    login(client, scene.contractor_user)
    response = client.post(url("progress", p.pk, work.pk), {"progress": "150"})
    assert response.status_code == 400 and "error-summary" in response.content.decode()
    work.refresh_from_db()
    assert work.progress == 0 and not work.entries.exists()
    assert client.post(url("progress", p.pk, work.pk), {"progress": "30"}).status_code == 302


def test_excel_export_import_round_trip_dry_run_first(client, scene):
    from openpyxl import Workbook, load_workbook

    p = to_works(scene)
    login(client, scene.contractor_user)
    exported = load_workbook(io.BytesIO(client.get(url("export", p.pk)).content))
    ws = exported.active
    assert [c.value for c in ws[1]] == ["external_id", "name", "budget", "progress", "note"]
    ws["D2"] = 60
    buf = io.BytesIO()
    exported.save(buf)
    buf.name = "progress.xlsx"
    dry = client.post(url("import", p.pk), {"file": io.BytesIO(buf.getvalue())})
    assert dry.status_code == 200 and p.work_items.get().progress == 0
    bad = Workbook()
    bad.active.append(["external_id", "progress"])
    bad.active.append(["W1", 70])
    bad.active.append(["NOPE", 10])
    badbuf = io.BytesIO()
    bad.save(badbuf)
    badbuf.seek(0)
    badbuf.name = "bad.xlsx"
    refused = client.post(url("import", p.pk), {"file": badbuf, "apply": "on"})
    assert refused.status_code == 400 and "NOPE" in refused.content.decode()
    assert p.work_items.get().progress == 0
    good = io.BytesIO(buf.getvalue())
    good.name = "progress.xlsx"
    assert client.post(url("import", p.pk), {"file": good, "apply": "on"}).status_code == 302
    assert p.work_items.get().progress == 60
    junk = io.BytesIO(b"not a workbook")
    junk.name = "x.xlsx"
    assert client.post(url("import", p.pk), {"file": junk}).status_code == 400


def test_query_budgets(client, scene, django_assert_max_num_queries):
    p = scene.project
    from gongzhi.registry.models import UnitSet

    for i in range(5):  # more projects must not cost more queries
        actions.create_project(
            actor=scene.officer, name=f"项目{i}", unit_set=UnitSet.objects.first(), menu=[scene.pipes]
        )
    login(client, scene.officer)
    with django_assert_max_num_queries(12):
        assert client.get(url("start")).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(url("tallies", p.pk)).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(url("door", p.pk)).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(url("menu")).status_code == 200
    to_works(scene)
    for _ in range(5):
        actions.report_defect(p, actor=scene.inspector, source="inspector", description="x", deadline=soon())
    with django_assert_max_num_queries(25):
        assert client.get(url("works", p.pk)).status_code == 200
    with django_assert_max_num_queries(25):
        assert client.get(url("timeline", p.pk)).status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(url("supervision", p.pk)).status_code == 200
    assert Defect.objects.count() == 5


def test_english_page(client, scene):
    login(client, scene.officer)
    from django.utils import translation

    with translation.override("en"):
        response = client.get(url("tallies", scene.project.pk), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Orders and consent" in body and "Adopt the plan" in body


def test_navigation_offers_renovation(client, scene):
    login(client, scene.resident)
    from gongzhi.core.navigation import sections_for

    assert any(s["url"] == url("start") for s in sections_for(scene.resident))
    assert testing  # noqa


def test_an_officer_sets_up_a_project_and_starts_the_works_from_the_pages(client, scene):
    from gongzhi.registry.models import UnitSet

    login(client, scene.officer)
    assert url("new") in client.get(url("start")).content.decode()
    bad = client.post(url("new"), {"name": "", "unit_set": "", "budget": "-1"})
    assert bad.status_code == 400 and "error-summary" in bad.content.decode()
    unit_set = UnitSet.objects.first()
    ok = client.post(
        url("new"), {"name": "一号楼改造", "unit_set": unit_set.pk, "menu": [scene.pipes.pk], "budget": "50000.00"}
    )
    assert ok.status_code == 302
    p = Project.objects.get(name="一号楼改造")
    assert list(p.menu.all()) == [scene.pipes]
    manage = url("manage", p.pk)
    assert client.post(manage, {"do": "funding", "f-source": "subsidy", "f-amount": "40000.00"}).status_code == 302
    assert (
        client.post(manage, {"do": "work", "w-external_id": "A1", "w-name": "管网", "w-budget": "50000"}).status_code
        == 302
    )
    again = client.post(manage, {"do": "work", "w-external_id": "A1", "w-name": "管网", "w-budget": "1"})
    assert again.status_code == 400 and "外部编号" in again.content.decode()
    refused = client.post(manage, {"do": "start"})  # the plan is not adopted yet
    assert refused.status_code == 400 and "请先确定改造计划" in refused.content.decode()
    contractor = scene.project.contractor
    assert client.post(manage, {"do": "parties", "contractor": contractor.pk, "supervisor": ""}).status_code == 302
    actions.adopt_plan(p, actor=scene.officer)
    assert client.post(manage, {"do": "start"}).status_code == 302
    p.refresh_from_db()
    assert p.stage == "works" and p.funding.count() == 1 and p.work_items.count() == 1
    login(client, scene.resident)
    assert client.get(manage).status_code == 403


def test_a_district_admin_adds_a_menu_item_and_bad_input_names_the_field(client, scene):
    from gongzhi.registry.tests.pages_helpers import sign_in
    from gongzhi.renovation.models import MenuCategory, MenuItem

    admin = testing.make_user("admin", "district_admin", scene.mini.district)
    sign_in(client, admin)  # with the second factor a district admin needs
    basic = MenuCategory.objects.get(code="basic", district__isnull=True)
    data = {
        "category": basic.pk,
        "code": "roof",
        "name": "屋面防水",
        "coverage": "building",
        "unit_cost": "60.00",
        "cost_basis": "per_m2",
        "share_basis": "area",
        "pct_subsidy": "90",
        "pct_residents": "5",
        "pct_units": "0",
        "pct_fund": "0",
        "pct_public_income": "0",
        "consent": "threshold",
        "consent_numerator": "4",
        "consent_denominator": "5",
        "consent_inclusive": "on",
        "depends_on": [scene.pipes.pk],
    }
    bad = client.post(url("menu-new"), data)
    assert bad.status_code == 400 and "100%" in bad.content.decode()
    assert not MenuItem.objects.filter(code="roof").exists()
    data["pct_residents"] = "10"
    assert client.post(url("menu-new"), data).status_code == 302
    item = MenuItem.objects.get(code="roof")
    assert list(item.depends_on.all()) == [scene.pipes] and item.pct_residents == 10
    lift = {**data, "code": "lift2", "share_basis": "floor_area", "floor_coefficients": "3:0.7, 4:x"}
    refused = client.post(url("menu-new"), lift)
    assert refused.status_code == 400 and "楼层系数" in refused.content.decode()
    login(client, scene.resident)
    assert client.get(url("menu-new")).status_code == 403
    login(client, scene.officer)  # a community worker reads the district's menu but does not change it
    assert url("menu-new") not in client.get(url("menu")).content.decode()
    assert client.get(url("menu-new")).status_code == 403


def test_a_defect_is_placed_by_floor_and_on_the_plan_without_javascript(client, scene):
    p = to_works(scene)
    login(client, scene.inspector)
    form = {"description": "外墙空鼓", "deadline": soon().isoformat(), "location": scene.mini.entrance.pk}
    half = client.post(url("report-defect", p.pk), {**form, "floor": "3", "plan_x": "40"})
    assert half.status_code == 400 and "error-summary" in half.content.decode()
    assert not Defect.objects.exists()
    wrong = client.post(url("report-defect", p.pk), {**form, "plan_x": "140", "plan_y": "20"})
    assert wrong.status_code == 400 and not Defect.objects.exists()
    ok = client.post(url("report-defect", p.pk), {**form, "floor": "3", "plan_x": "40.5", "plan_y": "20"})
    assert ok.status_code == 302
    defect = Defect.objects.get()
    assert (defect.floor, defect.plan_x, defect.plan_y) == (3, Decimal("40.50"), Decimal("20.00"))
    works = client.get(url("works", p.pk)).content.decode()
    assert "3层" in works and "40.50%, 20.00%" in works
    works_en = client.get(url("works", p.pk), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "floor 3" in works_en and "Position on the plan" in works_en


def test_a_worker_enters_a_residents_defect_for_them(client, scene):
    p = to_works(scene)
    login(client, scene.operator)
    page = client.get(url("report-defect", p.pk)).content.decode()
    assert 'name="person"' in page
    response = client.post(
        url("report-defect", p.pk),
        {"description": "楼道灯不亮", "deadline": soon().isoformat(), "person": scene.resident_person.pk},
    )
    assert response.status_code == 302
    defect = Defect.objects.get()
    assert defect.source == "resident" and defect.reporter == scene.resident_person
    login(client, scene.resident)
    assert 'name="person"' not in client.get(url("report-defect", p.pk)).content.decode()


def _photo(colour="red") -> tuple[bytes, str]:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(buf, "JPEG")
    return buf.getvalue(), "photo.jpg"


def test_defect_and_progress_photos_show_as_thumbnails_served_privately(client, scene):
    p = to_works(scene)
    work = p.work_items.get()
    actions.report_progress(work, actor=scene.contractor_user, progress=40, note="防水层", photo=_photo("blue"))
    mine = actions.report_defect(
        p, actor=scene.resident, source="resident", description="扶手松动", deadline=soon(), photo_before=_photo()
    )
    other = actions.report_defect(
        p, actor=scene.inspector, source="inspector", description="檐口渗水", deadline=soon(), photo_before=_photo()
    )
    photo_url = url("photo", p.pk, mine.photo_before.key)

    login(client, scene.contractor_user)
    works = client.get(url("works", p.pk)).content.decode()
    assert f'src="{photo_url}?thumb=1"' in works and 'alt="整改前照片：扶手松动"' in works
    entry = work.entries.get()
    assert url("photo", p.pk, entry.photo.key) in works and "屋面防水施工照片" in works
    thumb = client.get(photo_url + "?thumb=1")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert thumb["Cache-Control"].split(",")[0] in ("private", "no-store")  # never kept in a shared cache
    from PIL import Image

    assert Image.open(io.BytesIO(thumb.content)).size[0] <= 320
    full = client.get(photo_url)
    assert full.status_code == 200 and full["Cache-Control"].split(",")[0] in ("private", "no-store")
    works_en = client.get(url("works", p.pk), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'alt="Photo before the fix: 扶手松动"' in works_en

    login(client, scene.resident)  # the reporter sees their own defect's photo, not the others'
    project_page = client.get(url("project", p.pk)).content.decode()
    assert f'src="{photo_url}?thumb=1"' in project_page
    assert client.get(photo_url).status_code == 200
    assert client.get(url("photo", p.pk, other.photo_before.key)).status_code == 403
    assert client.get(url("photo", p.pk, entry.photo.key)).status_code == 403

    client.logout()
    assert client.get(photo_url).status_code == 302  # to the sign-in page, never served in public
    login(client, scene.outsider)
    assert client.get(photo_url).status_code == 404
    # a photo of another project does not open through this one
    login(client, scene.officer)
    assert client.get(url("photo", p.pk, "00000000-0000-0000-0000-000000000000")).status_code == 404

    client.logout()  # the contractor's token link shows the photo before the fix
    answer = client.get(url("defect-answer", other.token)).content.decode()
    token_photo = url("defect-photo", other.token, "before")
    assert f'src="{token_photo}?thumb=1"' in answer
    assert client.get(token_photo).status_code == 200
    assert client.get(url("defect-photo", other.token, "after")).status_code == 404
    assert client.get(url("defect-photo", "nope", "before")).status_code == 404


def _item_form(item, **changes):
    data = {
        "category": item.category_id,
        "name": item.name,
        "description": item.description,
        "coverage": item.coverage,
        "unit_cost": str(item.unit_cost),
        "cost_basis": item.cost_basis,
        "share_basis": item.share_basis,
        "floor_coefficients": ", ".join(f"{k}:{v}" for k, v in item.floor_coefficients.items()),
        "pct_subsidy": str(item.pct_subsidy),
        "pct_residents": str(item.pct_residents),
        "pct_units": str(item.pct_units),
        "pct_fund": str(item.pct_fund),
        "pct_public_income": str(item.pct_public_income),
        "household_cap": "" if item.household_cap is None else str(item.household_cap),
        "consent": item.consent,
        "consent_numerator": str(item.consent_numerator),
        "consent_denominator": str(item.consent_denominator),
        "matter": item.matter,
        "depends_on": list(item.depends_on.values_list("pk", flat=True)),
    }
    if item.consent_inclusive:
        data["consent_inclusive"] = "on"
    data.update(changes)
    return data


def test_menu_items_are_edited_by_the_districts_officers_with_a_clear_rule(client, scene):
    from gongzhi.core.models import AuditEntry
    from gongzhi.registry.tests.pages_helpers import sign_in
    from gongzhi.renovation.models import MenuItem

    admin = testing.make_user("admin", "district_admin", scene.mini.district)
    sign_in(client, admin)
    pipes, lift = scene.pipes, scene.lift
    menu_page = client.get(url("menu")).content.decode()
    assert url("menu-edit", pipes.pk) in menu_page
    assert client.get(url("menu-edit", pipes.pk)).status_code == 200

    bad = client.post(url("menu-edit", pipes.pk), _item_form(pipes, pct_residents="30"))
    assert bad.status_code == 400 and "100%" in bad.content.decode()
    assert MenuItem.objects.get(pk=pipes.pk).pct_residents == 20
    ok = client.post(url("menu-edit", pipes.pk), _item_form(pipes, unit_cost="900.00", code="changed"))
    assert ok.status_code == 302
    pipes.refresh_from_db()
    assert pipes.unit_cost == Decimal("900.00") and pipes.code == "pipes"  # the code stays
    entry = AuditEntry.objects.filter(action="renovation.update_menu_item").latest("id")
    assert entry.changes["unit_cost"] == ["800.00", "900.00"]

    # Once a household has ordered it, what it agreed to stays; the name may still change.
    actions.place_order(
        scene.project, actor=scene.resident, unit=scene.mini.units[1], item=pipes, agrees=True, seen_share=None
    )
    refused = client.post(url("menu-edit", pipes.pk), _item_form(pipes, unit_cost="1000.00"))
    assert refused.status_code == 409 and "已有住户" in refused.content.decode()
    assert MenuItem.objects.get(pk=pipes.pk).unit_cost == Decimal("900.00")
    renamed = client.post(url("menu-edit", pipes.pk), _item_form(pipes, name="供排水管网更新"))
    assert renamed.status_code == 302 and MenuItem.objects.get(pk=pipes.pk).name == "供排水管网更新"

    # Once a project offering it adopted its plan: not at all.
    actions.adopt_plan(scene.project, actor=scene.officer)
    assert client.get(url("menu-edit", pipes.pk)).status_code == 403
    menu_page = client.get(url("menu")).content.decode()
    assert url("menu-edit", pipes.pk) not in menu_page and "已用于改造计划" in menu_page
    assert url("menu-edit", lift.pk) not in menu_page  # the lift is on the same (adopted) project

    login(client, scene.officer)  # a community worker reads the district's menu but does not change it
    assert client.get(url("menu-edit", lift.pk)).status_code == 403
