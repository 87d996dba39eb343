"""Bulky waste hands illegal-dumping reports to the service desk."""

from __future__ import annotations

import io

from PIL import Image

from gongzhi.bulkywaste import actions as bulky
from gongzhi.servicedesk.models import Category, ServiceRequest
from testkit import bulkywaste as bw


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), "green").save(buf, "JPEG")
    return buf.getvalue()


def test_a_dumping_report_becomes_a_request_of_its_category(cats, mini):
    bw.service_area(mini.subdistrict)
    report = bulky.report_dumping(
        actor=None, description="楼下有人扔了旧沙发", node=mini.courtyard, address="福华街12号", reporter_phone="13812345678",
        photo=(_jpeg(), "sofa.jpg"),
    )  # fmt: skip
    req = ServiceRequest.objects.get(source=f"bulkywaste:{report.reference}")
    assert req.category.code == "bulky_dumping" and req.channel == "bulky" and req.status == "accepted"
    assert req.compound == mini.courtyard and req.photos.get().upload == report.photo
    assert req.requester_phone == "13812345678"


def test_without_the_category_only_the_dumping_queue_has_it(cats, mini):
    Category.objects.filter(code="bulky_dumping").update(active=False)
    bw.service_area(mini.subdistrict)
    bulky.report_dumping(actor=None, description="旧床垫", node=mini.courtyard, address="福华街12号")
    assert not ServiceRequest.objects.exists()


# --- renovation: a resident's defect becomes a request linked to it ----------------------------------------------


def _works_scene(mini):
    from gongzhi.renovation.tests.builders import build_scene, to_works

    scene = build_scene(mini)
    to_works(scene)
    return scene


def test_a_residents_defect_becomes_a_request_linked_to_it(cats, mini):
    from gongzhi.renovation import actions as renovation
    from gongzhi.renovation.links import defect_source
    from gongzhi.renovation.tests.builders import soon

    scene = _works_scene(mini)
    defect = renovation.report_defect(
        scene.project, actor=scene.resident, source="resident", description="楼道扶手松动", deadline=soon(),
        spot="3楼楼梯口", location=mini.entrance, photo_before=(_jpeg(), "rail.jpg"),
    )  # fmt: skip
    req = ServiceRequest.objects.get(source=defect_source(defect.pk))
    assert req.category.code == "renovation_defect" and req.channel == "renovation" and req.status == "accepted"
    assert req.requester_user == scene.resident and req.requester_person == scene.resident_person
    assert "楼道扶手松动" in req.description and scene.project.name in req.description
    assert req.node == mini.entrance and req.photos.get().upload == defect.photo_before


def test_a_defect_entered_for_a_resident_is_filed_for_that_resident(cats, mini):
    from gongzhi.renovation import actions as renovation
    from gongzhi.renovation.links import defect_source
    from gongzhi.renovation.tests.builders import soon

    scene = _works_scene(mini)
    defect = renovation.report_defect(
        scene.project, actor=scene.officer, source="resident", description="外墙保温层脱落", deadline=soon(),
        on_behalf_of=scene.resident_person,
    )  # fmt: skip
    req = ServiceRequest.objects.get(source=defect_source(defect.pk))
    assert req.requester_user is None and req.requester_person == scene.resident_person
    assert req.entered_by is None and req.node == scene.project.scope


def test_inspectors_defects_and_a_district_without_the_category_file_nothing(cats, mini):
    from gongzhi.renovation import actions as renovation
    from gongzhi.renovation.tests.builders import soon

    scene = _works_scene(mini)
    renovation.report_defect(
        scene.project, actor=scene.inspector, source="inspector", description="檐口渗水", deadline=soon()
    )
    renovation.report_defect(  # "resident" as its source, but from an officer for nobody: not a household's
        scene.project, actor=scene.officer, source="resident", description="井盖松动", deadline=soon()
    )
    Category.objects.filter(code="renovation_defect").update(active=False)
    defect = renovation.report_defect(
        scene.project, actor=scene.resident, source="resident", description="雨水管破损", deadline=soon()
    )
    assert defect.pk and not ServiceRequest.objects.exists()


def test_the_requests_state_shows_on_the_defect_pages(cats, mini, client):
    from django.urls import reverse

    from gongzhi.renovation import actions as renovation
    from gongzhi.renovation.links import defect_source
    from gongzhi.renovation.tests.builders import soon
    from gongzhi.servicedesk import actions

    scene = _works_scene(mini)
    defect = renovation.report_defect(
        scene.project, actor=scene.resident, source="resident", description="楼道扶手松动", deadline=soon()
    )
    req = ServiceRequest.objects.get(source=defect_source(defect.pk))
    project_page = reverse("renovation:project", args=[scene.project.pk])
    client.force_login(scene.resident)
    page = client.get(project_page).content.decode()
    assert req.reference in page and "受理" in page
    assert reverse("servicedesk:order", args=[req.pk]) in page  # the resident may open their own request

    actions.dispatch_request(req, actor=scene.officer)
    page = client.get(project_page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert req.reference in page and "Dispatched" in page

    client.force_login(scene.supervisor_user)  # the supervision group sees the works page, not the desk's order
    works = client.get(reverse("renovation:works", args=[scene.project.pk])).content.decode()
    assert req.reference in works and "已派单" in works
    assert reverse("servicedesk:order", args=[req.pk]) not in works


def test_the_defects_fix_and_closing_show_on_the_request_filed_for_it(cats, mini):
    from django.utils import translation

    from gongzhi.renovation import actions as renovation
    from gongzhi.renovation.links import defect_source
    from gongzhi.renovation.tests.builders import soon

    scene = _works_scene(mini)
    defect = renovation.report_defect(
        scene.project, actor=scene.resident, source="resident", description="楼道扶手松动", deadline=soon(),
        location=mini.entrance,
    )  # fmt: skip
    req = ServiceRequest.objects.get(source=defect_source(defect.pk))
    renovation.resolve_defect(defect, actor=scene.contractor_user, note="已加固")
    renovation.reject_fix(defect, actor=scene.supervisor_user, reason="仍有晃动")
    renovation.resolve_defect(defect, actor=scene.contractor_user, note="重新焊接")
    renovation.close_defect(defect, actor=scene.supervisor_user)
    lines = list(req.events.filter(kind="linked").order_by("at", "id"))
    assert [e.params["step"] for e in lines] == ["resolved", "fix_rejected", "resolved", "closed"]
    req.refresh_from_db()
    assert req.status == "accepted"  # the request's own state stays the desk's to move
    with translation.override("en"):
        assert lines[-1].text == "Renovation project: closed by the supervision group" and lines[-1].label
    with translation.override("zh-hans"):
        assert lines[-1].text == "改造项目：监督方已销项"
