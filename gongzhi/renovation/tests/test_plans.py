"""Plans (平面图): uploading one (and refusing what is not a plan picture, writing nothing), who sees and who
uploads, a click on a plan turned into percents, the defect's marker on the contractor's link, the supervision
and plan pages, the API, and the plan page's query budget."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from gongzhi.core.models import AuditEntry, Upload, User
from gongzhi.core.tests.test_hostile_input import png_header_only, stored_files
from gongzhi.registry import actions as registry
from gongzhi.registry.models import UnitSet
from gongzhi.renovation import actions, spots
from gongzhi.renovation.actions import RenovationError
from gongzhi.renovation.demo import HAOBANG
from gongzhi.renovation.models import Defect, Plan, Project
from gongzhi.renovation.tests.builders import build_scene, soon, to_works
from testkit.untranslated import untranslated

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(mini):
    return build_scene(mini)


def url(name, *args):
    return reverse(f"renovation:{name}", args=args)


def picture(fmt: str = "PNG", size: tuple[int, int] = (400, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "white").save(buf, fmt)
    return buf.getvalue()


def plan_of(p, officer, size=(400, 200), **kw) -> Plan:
    return actions.upload_plan(p, actor=officer, title="1号楼三层平面图", image=(picture(size=size), "p.png"), **kw)


def nothing_written(before) -> bool:
    audit, files, uploads = before
    return (AuditEntry.objects.count(), stored_files(), Upload.objects.count()) == (audit, files, uploads)


def snapshot():
    return AuditEntry.objects.count(), stored_files(), Upload.objects.count()


# --- a click becomes percents ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        ("0", "0", (Decimal("0.00"), Decimal("0.00"))),
        ("400", "200", (Decimal("100.00"), Decimal("100.00"))),
        ("140", "124", (Decimal("35.00"), Decimal("62.00"))),
        ("1", "1", (Decimal("0.25"), Decimal("0.50"))),
        ("133", "67", (Decimal("33.25"), Decimal("33.50"))),
    ],
)
def test_a_click_in_the_plans_pixels_becomes_percents(x, y, expected):
    assert spots.click_to_percent(x, y, 400, 200) == expected


@pytest.mark.parametrize(("x", "y"), [("401", "10"), ("10", "201"), ("-1", "5"), ("a", "5"), ("NaN", "1"), ("", "")])
def test_a_click_outside_the_picture_or_not_a_number_is_no_spot(x, y):
    assert spots.click_to_percent(x, y, 400, 200) is None


# --- uploading ------------------------------------------------------------------------------------------------


def test_an_officer_uploads_a_plan_its_size_kept_and_audited(client, scene):
    p = scene.project
    client.force_login(scene.officer)
    page = client.get(url("plans", p.pk))
    assert page.status_code == 200 and 'name="image"' in page.content.decode()
    image = SimpleUploadedFile("plan.jpg", picture("JPEG", (640, 480)), content_type="image/jpeg")
    done = client.post(
        url("plans", p.pk), {"title": "2号楼标准层", "floor": "3", "building": scene.mini.building.pk, "image": image}
    )
    assert done.status_code == 302
    plan = Plan.objects.get()
    assert (plan.title, plan.floor, plan.building, plan.width, plan.height) == (
        "2号楼标准层",
        3,
        scene.mini.building,
        640,
        480,
    )
    assert plan.image.content_type == "image/jpeg" and plan.uploaded_by == scene.officer
    entry = AuditEntry.objects.filter(action="renovation.upload_plan").get()
    assert entry.changes["size"] == [640, 480]
    assert done["Location"] == url("plan", p.pk, plan.pk)
    shown = client.get(url("plan-image", p.pk, plan.pk))
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"just some text, not a picture", "PNG 或 JPEG"),
        (picture("WEBP"), "PNG 或 JPEG"),  # an image, but not one a plan is drawn as
        (b"%PDF-1.4\n" + b"A" * 100, "PNG 或 JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "图片文件已损坏"),
        (png_header_only(13_000, 13_000), "像素"),  # a decompression bomb: refused from its header
    ],
)
def test_what_is_not_a_plan_picture_is_refused_naming_the_field_writing_nothing(client, scene, data, words):
    p = scene.project
    client.force_login(scene.officer)
    before = snapshot()
    response = client.post(url("plans", p.pk), {"title": "平面图", "image": SimpleUploadedFile("x.png", data)})
    body = response.content.decode()
    assert response.status_code == 400 and words in body
    assert 'href="#id_image"' in body  # the error summary links to the field
    assert not Plan.objects.exists() and nothing_written(before)


def test_a_plan_too_big_is_refused_in_english_too(client, scene):
    p = scene.project
    client.force_login(scene.officer)
    before = snapshot()
    with override_settings(GONGZHI_UPLOAD_MAX_BYTES=1024):
        response = client.post(
            url("plans", p.pk),
            {"title": "平面图", "image": SimpleUploadedFile("x.png", picture("PNG", (900, 900)) + b"\x00" * 2048)},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 400 and "larger than" in response.content.decode()
    assert not Plan.objects.exists() and nothing_written(before)


def test_the_action_refuses_a_building_outside_the_project_and_a_title_missing(scene):
    before = snapshot()
    with pytest.raises(RenovationError) as e:
        plan_of(scene.project, scene.officer, building=scene.mini.other_units[0].compound)
    assert e.value.field == "building"
    with pytest.raises(RenovationError) as e:
        actions.upload_plan(scene.project, actor=scene.officer, title=" ", image=(picture(), "p.png"))
    assert e.value.field == "title"
    assert nothing_written(before)


# --- who sees, who uploads ------------------------------------------------------------------------------------


def test_officers_upload_households_see_the_picture_outsiders_do_not(client, scene):
    p = scene.project
    plan = plan_of(p, scene.officer)
    image = url("plan-image", p.pk, plan.pk)
    client.force_login(scene.resident)  # a household of the project: sees the plan to place a defect on it
    assert client.get(image).status_code == 200
    page = client.get(url("plans", p.pk))
    assert page.status_code == 200 and 'name="image"' not in page.content.decode()
    refused = client.post(url("plans", p.pk), {"title": "x", "image": SimpleUploadedFile("x.png", picture())})
    assert refused.status_code == 403 and Plan.objects.count() == 1
    assert client.get(url("plan", p.pk, plan.pk)).status_code == 403  # the open defects: the works staff's
    client.force_login(scene.outsider)
    assert client.get(image).status_code == 404
    client.force_login(scene.contractor_user)
    assert client.get(image).status_code == 200 and client.get(url("plan", p.pk, plan.pk)).status_code == 200
    with pytest.raises(Exception, match="upload_plan"):
        plan_of(p, scene.contractor_user)


def test_a_plan_from_another_project_is_not_served_under_this_one(client, scene):
    p = scene.project
    other = actions.create_project(
        actor=scene.officer,
        name="另一个项目",
        unit_set=UnitSet.objects.get(name="油漆厂家属院全院"),
        menu=[scene.pipes],
    )
    plan = plan_of(other, scene.officer)
    client.force_login(scene.officer)
    assert client.get(url("plan-image", p.pk, plan.pk)).status_code == 404
    assert client.get(url("plan", p.pk, plan.pk)).status_code == 404


# --- placing a defect by clicking on the plan -----------------------------------------------------------------


def test_a_click_marks_the_spot_writes_nothing_then_the_report_carries_it(client, scene):
    p = to_works(scene)
    plan = plan_of(p, scene.officer)
    client.force_login(scene.resident)
    form = {"description": "楼道墙皮脱落", "deadline": soon().isoformat(), "floor": "3"}
    page = client.get(url("report-defect", p.pk)).content.decode()
    assert f'type="image" name="spot-{plan.pk}"' in page and 'width="400" height="200"' in page
    assert "用数字填写位置" in page  # the keyboard's way: the numbers, always there
    before = snapshot()
    clicked = client.post(url("report-defect", p.pk), {**form, f"spot-{plan.pk}.x": "140", f"spot-{plan.pk}.y": "124"})
    body = clicked.content.decode()
    assert clicked.status_code == 200 and not Defect.objects.exists() and nothing_written(before)
    assert 'value="35.00"' in body and 'value="62.00"' in body and "楼道墙皮脱落" in body
    assert 'class="plan-mark" x="35.00%" y="62.00%"' in body and "位置：横向 35%，纵向 62%" in body
    done = client.post(url("report-defect", p.pk), {**form, "plan": plan.pk, "plan_x": "35.00", "plan_y": "62.00"})
    assert done.status_code == 302
    defect = Defect.objects.get()
    assert (defect.plan, defect.plan_x, defect.plan_y, defect.floor) == (plan, Decimal("35.00"), Decimal("62.00"), 3)
    audit = AuditEntry.objects.filter(action="renovation.report_defect").latest("id")
    assert audit.changes["plan"] == plan.pk


def test_a_spot_outside_the_plan_is_refused_naming_the_field_and_nothing_is_written(client, scene):
    p = to_works(scene)
    plan = plan_of(p, scene.officer)
    client.force_login(scene.inspector)
    form = {"description": "窗台开裂", "deadline": soon().isoformat()}
    before = snapshot()
    outside = client.post(url("report-defect", p.pk), {**form, f"spot-{plan.pk}.x": "401", f"spot-{plan.pk}.y": "5"})
    body = outside.content.decode()
    assert outside.status_code == 400 and "不在平面图内" in body and 'href="#id_plan"' in body
    typed = client.post(url("report-defect", p.pk), {**form, "plan": plan.pk, "plan_x": "100.5", "plan_y": "5"})
    assert typed.status_code == 400 and 'href="#id_plan_x"' in typed.content.decode()
    unplaced = client.post(url("report-defect", p.pk), {**form, "plan_x": "10", "plan_y": "5"})  # which plan?
    assert unplaced.status_code == 400 and "请选择位置所在的平面图" in unplaced.content.decode()
    english = client.post(
        url("report-defect", p.pk),
        {**form, f"spot-{plan.pk}.x": "9", f"spot-{plan.pk}.y": "999"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert english.status_code == 400 and "outside the plan" in english.content.decode()
    assert not Defect.objects.exists() and nothing_written(before)


def test_a_plan_of_another_project_is_refused(client, scene):
    p = to_works(scene)
    other = actions.create_project(
        actor=scene.officer,
        name="另一个项目",
        unit_set=UnitSet.objects.get(name="油漆厂家属院全院"),
        menu=[scene.pipes],
    )
    foreign = plan_of(other, scene.officer)
    plan_of(p, scene.officer)
    client.force_login(scene.inspector)
    form = {"description": "窗台开裂", "deadline": soon().isoformat(), "plan_x": "10", "plan_y": "10"}
    before = snapshot()
    response = client.post(url("report-defect", p.pk), {**form, "plan": foreign.pk})
    assert response.status_code == 400 and "请选择本项目的平面图" in response.content.decode()
    with pytest.raises(RenovationError) as e:
        actions.report_defect(
            p,
            actor=scene.inspector,
            source="inspector",
            description="x",
            deadline=soon(),
            plan=foreign,
            plan_xy=("1", "1"),
        )
    assert e.value.field == "plan"
    assert not Defect.objects.exists() and nothing_written(before)


def test_a_key_press_on_the_plan_points_to_the_numbers(client, scene):
    """Enter or Space on an <input type="image"> sends (0, 0): no spot; the numbers are opened instead."""
    p = to_works(scene)
    plan = plan_of(p, scene.officer)
    client.force_login(scene.inspector)
    form = {"description": "窗台开裂", "deadline": soon().isoformat()}
    response = client.post(url("report-defect", p.pk), {**form, f"spot-{plan.pk}.x": "0", f"spot-{plan.pk}.y": "0"})
    body = response.content.decode()
    assert response.status_code == 200 and '<details class="plan-numbers" open>' in body
    assert 'class="plan-mark"' not in body and not Defect.objects.exists()


# --- showing it -----------------------------------------------------------------------------------------------


def placed_defect(scene, **kw):
    p = to_works(scene)
    plan = plan_of(p, scene.officer, **kw)
    defect = actions.report_defect(
        p,
        actor=scene.inspector,
        source="inspector",
        description="檐口渗水",
        deadline=soon(),
        plan=plan,
        plan_xy=("35", "62.5"),
    )
    return p, plan, defect


def test_the_contractors_link_shows_the_plan_with_a_marker_and_its_words(client, scene):
    p, plan, defect = placed_defect(scene)
    page = client.get(url("defect-answer", defect.token))  # no account: the token is the authority
    body = page.content.decode()
    src = url("defect-plan-image", defect.token)
    assert page.status_code == 200 and f'src="{src}"' in body
    assert 'class="plan-mark" x="35.00%" y="62.50%"' in body and "位置：横向 35%，纵向 62.50%" in body
    assert client.get(src).status_code == 200
    english = client.get(url("defect-answer", defect.token), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Position: 35% across, 62.50% down" in english
    unplaced = actions.report_defect(p, actor=scene.inspector, source="inspector", description="y", deadline=soon())
    assert client.get(url("defect-plan-image", unplaced.token)).status_code == 404


def test_the_plan_and_supervision_pages_number_the_open_defects(client, scene):
    p, plan, first = placed_defect(scene)
    second = actions.report_defect(
        p,
        actor=scene.inspector,
        source="inspector",
        description="扶手松动",
        deadline=soon(),
        plan=plan,
        plan_xy=("80", "10"),
    )
    closed = actions.report_defect(
        p,
        actor=scene.inspector,
        source="inspector",
        description="已修好",
        deadline=soon(),
        plan=plan,
        plan_xy=("5", "5"),
    )
    actions.resolve_defect_by_token(closed.token, name="王工", note="已修")
    actions.close_defect(closed, actor=scene.inspector)
    client.force_login(scene.supervisor_user)
    for page in (url("plan", p.pk, plan.pk), url("supervision", p.pk)):
        body = client.get(page).content.decode()
        assert 'x="35.00%" y="62.50%"' in body and 'x="80.00%" y="10.00%"' in body
        assert 'x="5.00%"' not in body and "已修好" not in body  # closed: off the plan
        assert body.index("檐口渗水") < body.index("扶手松动") and f'id="d{second.pk}"' in body
    works = client.get(url("works", p.pk)).content.decode()
    assert f"{url('plan', p.pk, plan.pk)}#d{first.pk}" in works


def test_the_plan_page_costs_the_same_queries_at_3_and_30_defects(client, scene, django_assert_max_num_queries):
    p, plan, _ = placed_defect(scene)
    client.force_login(scene.officer)

    def add(n):
        for i in range(n):
            actions.report_defect(
                p,
                actor=scene.inspector,
                source="inspector",
                description=f"问题{i}",
                deadline=soon(),
                location=scene.mini.entrance,
                plan=plan,
                plan_xy=(str(i % 100), "50"),
            )

    add(2)
    with django_assert_max_num_queries(12) as few:
        assert client.get(url("plan", p.pk, plan.pk)).status_code == 200
    add(27)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(url("plan", p.pk, plan.pk)).content.decode()
    assert body.count('class="plan-mark"') == 30


# --- the API --------------------------------------------------------------------------------------------------


def api(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def test_the_api_lists_creates_plans_and_places_defects_on_them(scene):
    p = to_works(scene)
    created = api(scene.officer).post(
        "/api/v1/renovation/plans/",
        {"project": p.pk, "title": "总平面图", "image": SimpleUploadedFile("site.png", picture())},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    plan = created.json()
    assert (plan["width"], plan["height"], plan["image_url"]) == (400, 200, url("plan-image", p.pk, plan["id"]))
    listed = api(scene.resident).get("/api/v1/renovation/plans/", {"project": p.pk})
    assert [r["id"] for r in listed.json()["results"]] == [plan["id"]]
    assert api(scene.outsider).get(f"/api/v1/renovation/plans/{plan['id']}/").status_code == 404
    refused = api(scene.contractor_user).post(
        "/api/v1/renovation/plans/",
        {"project": p.pk, "title": "x", "image": SimpleUploadedFile("x.png", picture())},
        format="multipart",
    )
    assert refused.status_code == 403
    bad = api(scene.officer).post(
        "/api/v1/renovation/plans/",
        {"project": p.pk, "title": "x", "image": SimpleUploadedFile("x.png", b"not a picture")},
        format="multipart",
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "image"
    assert "PNG" in bad.json()["errors"][0]["message_en"]
    defect = api(scene.inspector).post(
        "/api/v1/renovation/defects/",
        {
            "project": p.pk,
            "description": "外墙空鼓",
            "deadline": soon().isoformat(),
            "source": "inspector",
            "floor": 2,
            "plan": plan["id"],
            "plan_x": "12.5",
            "plan_y": "40",
        },
        format="json",
    )
    assert defect.status_code == 201, defect.content
    assert (defect.json()["plan"], defect.json()["plan_x"], defect.json()["floor"]) == (plan["id"], "12.50", 2)


def test_the_api_refuses_a_plan_of_another_project_naming_the_field(scene):
    p = to_works(scene)
    unit_set = registry.create_unit_set(
        actor=None, name="另一院", kind=UnitSet.Kind.COMPOUND, scope=scene.mini.courtyard, nodes=[scene.mini.courtyard]
    )
    other = actions.create_project(actor=scene.officer, name="另一个项目", unit_set=unit_set, menu=[scene.pipes])
    foreign = plan_of(other, scene.officer)
    before = snapshot()
    r = api(scene.inspector).post(
        "/api/v1/renovation/defects/",
        {
            "project": p.pk,
            "description": "x",
            "deadline": soon().isoformat(),
            "plan": foreign.pk,
            "plan_x": "1",
            "plan_y": "1",
        },
        format="json",
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "plan"
    assert r.json()["errors"][0]["message"] == "平面图不属于本项目"
    assert not Defect.objects.exists() and nothing_written(before)


def test_the_demo_places_haobangs_open_defects_on_its_drawn_plan(client):
    call_command("load_demo", verbosity=0)
    p = Project.objects.get(name=HAOBANG)
    plan = p.plans.get()
    assert (plan.width, plan.height, plan.floor, plan.image.content_type) == (960, 600, 3, "image/png")
    placed = p.defects.filter(plan=plan).exclude(status=Defect.Status.CLOSED)
    assert "外墙保温层锚栓数量不足" in {d.description for d in placed}
    client.force_login(User.objects.get(username="supervisor"))
    body = client.get(url("plan", p.pk, plan.pk)).content.decode()
    assert "外墙保温层锚栓数量不足" in body and 'x="30.00%" y="93.00%"' in body


def test_the_plan_pages_in_english_have_no_chinese_interface_text(client, scene):
    p, plan, defect = placed_defect(scene)
    client.force_login(scene.officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    pages = [url("plans", p.pk), url("plan", p.pk, plan.pk), url("supervision", p.pk), url("report-defect", p.pk)]
    for page in pages:
        body = client.get(page).content.decode()
        assert untranslated(body) == [], page
    clicked = client.post(url("report-defect", p.pk), {f"spot-{plan.pk}.x": "10", f"spot-{plan.pk}.y": "10"})
    assert "is marked on the plan" in clicked.content.decode() and untranslated(clicked.content.decode()) == []
    bad = client.post(url("plans", p.pk), {"title": "", "image": SimpleUploadedFile("x.png", b"no")})
    assert bad.status_code == 400 and untranslated(bad.content.decode()) == []
    client.logout()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    answer = client.get(url("defect-answer", defect.token)).content.decode()
    assert "Position on the plan" in answer and untranslated(answer) == []
