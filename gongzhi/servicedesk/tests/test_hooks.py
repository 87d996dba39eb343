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
