"""Pages: who may open them, what they show (no personal data in public), every move through its button, budgets."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from PIL import Image

from gongzhi.core.models import AuditEntry
from gongzhi.servicedesk import actions
from gongzhi.servicedesk.models import FollowUpCall, ServiceRequest
from testkit.world import PASSWORD


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def jpeg() -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (30, 20), "blue").save(buf, "JPEG")
    buf.seek(0)
    buf.name = "light.jpg"
    return buf


def test_start_shows_only_what_the_reader_may_do(client, cats, resident, worker):
    page = client.get(reverse("servicedesk:start")).content.decode()
    assert reverse("servicedesk:boards") in page and reverse("servicedesk:queue") not in page
    page = login(client, resident).get(reverse("servicedesk:start")).content.decode()
    assert reverse("servicedesk:report") in page and reverse("servicedesk:queue") not in page
    client.logout()
    page = login(client, worker).get(reverse("servicedesk:start")).content.decode()
    assert reverse("servicedesk:queue") in page and reverse("servicedesk:dashboard") in page


def test_resident_reports_one_question_per_page(client, cats, resident, mini, django_capture_on_commit_callbacks):
    login(client, resident)
    r = client.post(reverse("servicedesk:report"), {})
    assert r.status_code == 400 and "error-summary" in r.content.decode()
    r = client.post(reverse("servicedesk:report"), {"category": cats["stair_light"].pk})
    assert r["Location"] == reverse("servicedesk:report_place")
    page = client.get(reverse("servicedesk:report_place")).content.decode()
    assert "油漆厂家属院" in page  # the home compound is offered first
    r = client.post(reverse("servicedesk:report_place"), {"node": mini.courtyard.pk, "where": "1号楼1单元"})
    assert r["Location"] == reverse("servicedesk:report_question", args=["floor"])
    r = client.post(r["Location"], {"answer": "三楼"})
    assert r.status_code == 400
    r = client.post(reverse("servicedesk:report_question", args=["floor"]), {"answer": "3"})
    assert r["Location"] == reverse("servicedesk:report_describe")
    r = client.post(r["Location"], {"description": "楼道灯不亮两天了"})
    r = client.post(reverse("servicedesk:report_photo"), {"photo": jpeg(), "action": "next"})
    assert r["Location"] == reverse("servicedesk:report_check")
    page = client.get(r["Location"]).content.decode()
    assert "楼道灯不亮两天了" in page and "3" in page
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(reverse("servicedesk:report_check"))
    req = ServiceRequest.objects.get()
    assert r["Location"] == reverse("servicedesk:report_done", args=[req.reference])
    assert req.photos.count() == 1 and req.answers == {"floor": "3"} and req.compound == mini.courtyard
    assert req.photos.get().upload.scope_path == req.path
    assert req.reference in client.get(reverse("servicedesk:mine")).content.decode()


def test_report_needs_sign_in(client, cats):
    assert client.get(reverse("servicedesk:report")).status_code == 302


def test_operator_takes_a_call(client, cats, operator, mini):
    login(client, operator)
    page = client.get(reverse("servicedesk:hotline"), {"cq": "油漆厂"}).content.decode()
    assert "油漆厂家属院" in page
    r = client.post(reverse("servicedesk:hotline"), {"requester_phone": "", "category": cats["emergency"].pk})
    assert r.status_code == 400 and "来电号码" in r.content.decode()
    r = client.post(
        reverse("servicedesk:hotline"),
        {"requester_phone": "13812345678", "requester_name": "李秀英", "channel": "hotline",
         "category": cats["drain_blocked"].pk, "node": mini.courtyard.pk, "description": "下水道反水",
         "attribute[overflow]": "yes"},
    )  # fmt: skip
    assert r.status_code == 302
    req = ServiceRequest.objects.get()
    assert req.entered_by == operator and req.channel == "hotline" and req.answers == {"overflow": "yes"}


def test_resident_cannot_open_staff_pages(client, cats, resident):
    login(client, resident)
    for name in ("servicedesk:hotline", "servicedesk:queue", "servicedesk:calls", "servicedesk:dashboard",
                 "servicedesk:near", "servicedesk:dashboard_export"):  # fmt: skip
        assert client.get(reverse(name)).status_code == 403, name


def test_the_order_page_moves_it_along(client, cats, submit, worker, liaison, operator):
    req = submit()
    login(client, worker)
    page = client.get(reverse("servicedesk:order", args=[req.pk])).content.decode()
    assert "张*" in page and "138****5678" in page and "13812345678" not in page
    assert reverse("servicedesk:order_move", args=[req.pk, "dispatch"]) in page
    assert reverse("servicedesk:order_move", args=[req.pk, "take"]) not in page
    client.post(reverse("servicedesk:order_move", args=[req.pk, "dispatch"]), {"org": ""})
    client.logout()
    login(client, liaison)
    page = client.get(reverse("servicedesk:near")).content.decode()
    assert req.reference in page
    r = client.post(reverse("servicedesk:order_move", args=[req.pk, "take"]))
    assert r["Location"] == reverse("servicedesk:near")
    for move, data in (("start", {}), ("contact", {"reason": "已电话联系"}), ("complete", {"reason": ""})):
        client.post(reverse("servicedesk:order_move", args=[req.pk, move]), data)
    req.refresh_from_db()
    assert req.status == "in_progress" and req.contacted_at  # the empty resolution was refused
    r = client.post(reverse("servicedesk:order_move", args=[req.pk, "complete"]), {"reason": "换了灯泡"}, follow=True)
    req.refresh_from_db()
    assert req.status == "completed"
    before = AuditEntry.objects.filter(action="pii.view").count()
    page = client.post(reverse("servicedesk:reveal", args=[req.pk])).content.decode()
    assert "13812345678" in page and AuditEntry.objects.filter(action="pii.view").count() == before + 1
    client.logout()
    login(client, operator)
    call = FollowUpCall.objects.get(request=req)
    assert reverse("servicedesk:call", args=[call.pk]) not in client.get(reverse("servicedesk:calls")).content.decode()
    FollowUpCall.objects.update(due_on="2020-01-01")  # due the next working day: let it come
    page = client.get(reverse("servicedesk:calls")).content.decode()
    assert reverse("servicedesk:call", args=[call.pk]) in page
    page = client.get(reverse("servicedesk:call", args=[call.pk])).content.decode()
    assert "换了灯泡" in page and req.reference in page
    client.post(reverse("servicedesk:call", args=[call.pk]), {"outcome": "reached", "solved": "yes",
                                                                "satisfaction": "satisfied"})  # fmt: skip
    req.refresh_from_db()
    assert req.status == "rated" and req.solved is True


def test_move_refused_shows_a_message_not_a_500(client, cats, submit, resident, worker):
    req = submit()
    login(client, worker)
    r = client.post(reverse("servicedesk:order_move", args=[req.pk, "complete"]), {"reason": "x"})
    assert r.status_code == 403
    r = client.post(reverse("servicedesk:order_move", args=[req.pk, "extend"]), {"reason": "x"})
    assert r.status_code == 403
    r = client.post(reverse("servicedesk:order_move", args=[req.pk, "merge"]), {"into": "nope"}, follow=True)
    assert "请填写要并入的工单号" in r.content.decode()


def test_order_out_of_scope_is_404(client, submit, persona, mini):
    req = submit()
    far = persona("community_worker", mini.other_subdistrict, "far")
    login(client, far)
    assert client.get(reverse("servicedesk:order", args=[req.pk])).status_code == 404


def test_rating_page_by_sms_link(client, cats, submit, worker, liaison):
    req = submit()
    actions.dispatch_request(req, actor=worker)
    actions.take_request(req, actor=liaison)
    assert client.get(reverse("servicedesk:rate", args=[req.rating_key])).status_code == 200
    assert "尚未办结" in client.get(reverse("servicedesk:rate", args=[req.rating_key])).content.decode()
    actions.start_handling(req, actor=liaison)
    actions.complete_request(req, actor=liaison, resolution="好了")
    assert client.post(reverse("servicedesk:rate", args=[req.rating_key]), {}).status_code == 400
    client.post(reverse("servicedesk:rate", args=[req.rating_key]), {"satisfaction": "basic"})
    req.refresh_from_db()
    assert req.satisfaction == "basic"
    assert client.get(reverse("servicedesk:rate", args=["nope"])).status_code == 404


def test_public_board_has_rates_and_no_personal_data(client, cats, submit, worker, mini, django_assert_max_num_queries):
    for _ in range(5):
        req = submit(description="我是张建国，电话13812345678")
        actions.dispatch_request(req, actor=worker)
    with django_assert_max_num_queries(6):
        r = client.get(reverse("servicedesk:board", args=[mini.community.pk]))
    page = r.content.decode()
    assert r.status_code == 200
    for secret in ("13812345678", "张建国", "1号楼", "1单元"):
        assert secret not in page
    assert "响应率" in page and "解决率" in page and "满意率" in page and "办结率" in page
    assert "0 ÷ 5" in page  # 响应率: none taken yet, five dispatched
    assert "油漆厂家属院" in page
    assert client.get(reverse("servicedesk:board", args=[mini.courtyard.pk])).status_code == 404
    assert str(mini.subdistrict.name) in client.get(reverse("servicedesk:boards")).content.decode()


def test_queue_and_near_budgets(client, cats, submit, worker, liaison, django_assert_max_num_queries):
    for _ in range(12):
        actions.dispatch_request(submit(), actor=worker)
    login(client, worker)
    with django_assert_max_num_queries(8):
        r = client.get(reverse("servicedesk:queue"), {"status": "dispatched"})
    assert len(set(re.findall(r"/service/orders/\d+/", r.content.decode()))) == 12
    client.logout()
    login(client, liaison)
    with django_assert_max_num_queries(9):
        r = client.get(reverse("servicedesk:near"))
    assert r.content.decode().count("我来接单") == 12


def test_dashboard_and_export(client, cats, submit, worker, liaison, django_assert_max_num_queries):
    for i in range(4):
        req = submit()
        actions.dispatch_request(req, actor=worker)
        if i % 2:
            ServiceRequest.objects.filter(pk=req.pk).update(due_at="2020-01-01T00:00:00+08:00")
    login(client, worker)
    with django_assert_max_num_queries(14):
        r = client.get(reverse("servicedesk:dashboard"))
    page = r.content.decode()
    assert "楼道灯不亮" in page and "铁道家园社区" in page
    r = client.get(reverse("servicedesk:dashboard_export"))
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["三率", "按类别", "按接单方", "按社区", "超期工单"]
    assert wb["超期工单"].max_row == 3
    assert "13812345678" not in str([c.value for ws in wb for row in ws.iter_rows() for c in row])


def test_calls_list_budget(client, cats, submit, worker, liaison, operator, django_assert_max_num_queries):
    for _ in range(6):
        req = submit()
        actions.dispatch_request(req, actor=worker)
        actions.take_request(req, actor=liaison)
        actions.start_handling(req, actor=liaison)
        actions.complete_request(req, actor=liaison, resolution="好了")
    FollowUpCall.objects.update(due_on="2020-01-01")
    login(client, operator)
    with django_assert_max_num_queries(7):
        r = client.get(reverse("servicedesk:calls"))
    assert len(re.findall(r"/service/calls/\d+/", r.content.decode())) == 6


@pytest.mark.parametrize("lang", ["en"])
def test_english_board(client, cats, mini, lang):
    client.cookies["django_language"] = lang
    page = client.get(
        reverse("servicedesk:board", args=[mini.community.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Response rate" in page


def test_dispatch_only_to_an_organisation_of_the_place(client, submit, worker, mini):
    from gongzhi.organizations.models import Organization, OrgKind

    kind = OrgKind.objects.get(code="resident_unit")
    near = Organization.objects.create(kind=kind, name="郑州油漆厂", node=mini.community)
    far = Organization.objects.create(kind=kind, name="远处单位", node=mini.other_courtyard)
    req = submit()
    login(client, worker)
    page = client.get(reverse("servicedesk:order", args=[req.pk])).content.decode()
    assert "郑州油漆厂" in page and "远处单位" not in page
    r = client.post(reverse("servicedesk:order_move", args=[req.pk, "dispatch"]), {"org": far.pk}, follow=True)
    assert "请从列表中选择派单对象" in r.content.decode()
    client.post(reverse("servicedesk:order_move", args=[req.pk, "dispatch"]), {"org": near.pk})
    req.refresh_from_db()
    assert req.status == "dispatched" and req.assignee_org == near


def test_unknown_token_is_404(client, cats):
    assert client.get("/open311/v2/tokens/not-a-uuid.json").status_code == 404


def test_a_member_of_the_organisation_sees_its_orders_near_them(client, submit, worker, liaison, mini):
    from gongzhi.organizations.models import Membership, Organization, OrgKind
    from gongzhi.registry.models import Person

    org = Organization.objects.create(
        kind=OrgKind.objects.get(code="resident_unit"), name="郑州油漆厂", node=mini.community
    )
    req = submit()
    actions.dispatch_request(req, actor=worker, to_org=org)
    login(client, liaison)
    assert req.reference not in client.get(reverse("servicedesk:near")).content.decode()
    liaison.person = Person.objects.get(name="王小明")
    liaison.save()
    Membership.objects.create(organization=org, person=liaison.person)
    assert req.reference in client.get(reverse("servicedesk:near")).content.decode()


def test_my_requests_budget(client, submit, resident, django_assert_max_num_queries):
    for _ in range(8):
        submit()
    login(client, resident)
    with django_assert_max_num_queries(7):
        r = client.get(reverse("servicedesk:mine"))
    assert len(set(re.findall(r"/service/orders/\d+/", r.content.decode()))) == 8


def test_hotline_looks_up_the_caller_and_enters_on_their_behalf(client, cats, operator, mini):
    from gongzhi.registry.models import Person

    login(client, operator)
    r = client.post(reverse("servicedesk:hotline"), {"requester_phone": "13812345678", "lookup": "1"})
    page = r.content.decode()
    assert r.status_code == 200 and "张** · 油漆厂家属院" in page and "张建国" not in page
    person = Person.objects.get(name="张建国")
    r = client.post(
        reverse("servicedesk:hotline"),
        {"requester_phone": "13812345678", "caller": person.pk, "channel": "hotline", "category": cats["emergency"].pk,
         "node": mini.courtyard.pk, "description": "楼道有燃气味"},
    )  # fmt: skip
    assert r.status_code == 302
    req = ServiceRequest.objects.get()
    assert req.requester_person == person and req.requester_name == "张建国"
    entry = AuditEntry.objects.get(action="servicedesk.submit", target_id=str(req.pk))
    assert entry.on_behalf_of_id == person.pk and entry.actor == operator


def test_resident_marks_the_place_on_the_map_or_by_the_phone(client, cats, resident, mini, settings):
    """No coordinates typed: a point picked on the (GCJ-02) map is stored in WGS-84; without tiles, no map."""
    from gongzhi.core import maps

    login(client, resident)
    client.post(reverse("servicedesk:report"), {"category": cats["stair_light"].pk})
    page = client.get(reverse("servicedesk:report_place")).content.decode()
    assert 'class="leaflet-map"' not in page and "data-locate=" in page  # the phone's location, with JavaScript
    settings.GONGZHI_MAP_TILES = "/static/tiles/{z}/{x}/{y}.png"
    settings.GONGZHI_MAP_TILES_DATUM = "gcj02"
    page = client.get(reverse("servicedesk:report_place")).content.decode()
    assert 'class="leaflet-map"' in page and "gongzhi/vendor/leaflet-1.9.4/leaflet.js" in page
    assert 'type="hidden" name="latitude"' in page and 'type="hidden" name="longitude"' in page  # never typed
    picked = {"node": mini.courtyard.pk, "where": "", "latitude": "34.752000", "longitude": "113.641000"}
    r = client.post(reverse("servicedesk:report_place"), {**picked, "source": "map"})
    assert r.status_code == 302
    client.post(reverse("servicedesk:report_question", args=["floor"]), {"answer": "2"})
    client.post(reverse("servicedesk:report_describe"), {"description": "楼道灯坏了"})
    assert "已标出位置" in client.get(reverse("servicedesk:report_check")).content.decode()
    client.post(reverse("servicedesk:report_check"))
    req = ServiceRequest.objects.get()
    assert (req.latitude, req.longitude) == maps.to_storage("34.752000", "113.641000", "map")
    assert (req.latitude, req.longitude) != (Decimal("34.752000"), Decimal("113.641000"))  # GCJ-02 → WGS-84


def test_a_point_from_the_phone_is_kept_as_given_and_nonsense_is_refused(client, cats, resident, mini):
    login(client, resident)
    client.post(reverse("servicedesk:report"), {"category": cats["stair_light"].pk})
    r = client.post(reverse("servicedesk:report_place"), {"node": mini.courtyard.pk, "latitude": "north"})
    assert r.status_code == 400 and "error-summary" in r.content.decode()
    fields = {"node": mini.courtyard.pk, "latitude": "34.7", "longitude": "113.6", "source": "device"}
    assert client.post(reverse("servicedesk:report_place"), fields).status_code == 302
    client.post(reverse("servicedesk:report_question", args=["floor"]), {"answer": "2"})
    client.post(reverse("servicedesk:report_describe"), {"description": "楼道灯坏了"})
    client.post(reverse("servicedesk:report_check"))
    req = ServiceRequest.objects.get()
    assert (req.latitude, req.longitude) == (Decimal("34.700000"), Decimal("113.600000"))
