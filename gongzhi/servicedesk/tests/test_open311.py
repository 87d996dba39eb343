"""Open311 GeoReport v2 against the spec, in both formats, through Django's test client."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from gongzhi.core.models import AuditEntry
from gongzhi.servicedesk import actions, open311
from gongzhi.servicedesk.models import Open311Client, ServiceRequest

BASE = "/open311/v2"
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)$")
REQUEST_FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
]  # fmt: skip


@pytest.fixture
def key(mini, cats):
    client, key = actions.create_open311_client(actor=None, name="311 app", node=mini.district, per_minute=5)
    return key


@pytest.fixture
def some(submit, worker, cats, mini):
    """Two requests: one dispatched with a phone number in its text, one merged."""
    a = submit(description="楼道灯坏了，请打13912345678或 a@b.cn 联系我", requester_name="张建国")
    actions.dispatch_request(a, actor=worker)
    b = submit(description="同一盏灯")
    actions.merge_duplicate(b, actor=worker, into=a)
    return a, b


def xml(response):
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def test_discovery_both_formats(client, cats):
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [e.tag for e in root] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]
    data = client.get(f"{BASE}/discovery.json").json()
    assert data["endpoints"][0]["url"].endswith("/open311/v2") and W3C.match(data["changeset"])


def test_service_list(client, cats):
    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    first = root.find("service")
    assert [e.tag for e in first] == [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ]
    assert first.findtext("metadata") == "true" and first.findtext("type") == "realtime"
    data = client.get(f"{BASE}/services.json").json()
    assert {s["service_code"]: s["metadata"] for s in data}["gas_water_power"] is False
    assert len(data) == len(root.findall("service")) == 8


def test_service_definition_from_the_questions(client, cats):
    root = xml(client.get(f"{BASE}/services/drain_blocked.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "drain_blocked"
    attr = root.find("attributes/attribute")
    assert attr.findtext("variable") == "true" and attr.findtext("datatype") == "singlevaluelist"
    assert attr.findtext("required") == "true" and attr.findtext("order") == "1"
    assert [(v.findtext("key"), v.findtext("name")) for v in attr.findall("values/value")] == [
        ("yes", "已外溢"), ("no", "未外溢")
    ]  # fmt: skip
    data = client.get(f"{BASE}/services/drain_blocked.json").json()
    assert data["attributes"][0]["code"] == "overflow" and data["attributes"][0]["values"][1]["key"] == "no"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_unknown_service_is_a_404_errors_array(client, cats, fmt):
    r = client.get(f"{BASE}/services/nope.{fmt}")
    assert r.status_code == 404
    if fmt == "json":
        assert r.json() == [{"code": 404, "description": "service_code not found: nope"}]
    else:
        root = xml(r)
        assert root.tag == "errors" and root.find("error/code").text == "404"


def test_requests_list_fields_and_privacy(client, some):
    a, b = some
    root = xml(client.get(f"{BASE}/requests.xml"))
    assert root.tag == "service_requests"
    rows = {r.findtext("service_request_id"): r for r in root.findall("request")}
    ra = rows[a.reference]
    assert [e.tag for e in ra] == REQUEST_FIELDS
    assert ra.findtext("status") == "open" and rows[b.reference].findtext("status") == "closed"
    assert rows[b.reference].findtext("status_notes").endswith(a.reference)
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(ra.findtext(field)), field
    assert ra.findtext("lat") == "34.737" and ra.findtext("long") == "113.64"  # the compound's, rounded
    assert ra.findtext("address").startswith("油漆厂家属院")
    body = client.get(f"{BASE}/requests.json").content.decode()
    for secret in ("13912345678", "a@b.cn", "13812345678", "张建国", "1号楼", "1单元"):
        assert secret not in body
    assert "[phone]" in body and "[email]" in body
    data = json.loads(body)
    assert [list(d) for d in data][0] == REQUEST_FIELDS
    assert isinstance(data[0]["lat"], float) and isinstance(data[0]["long"], float)


def test_single_request_is_an_array_in_both_formats(client, some):
    a, _b = some
    data = client.get(f"{BASE}/requests/{a.reference}.json").json()
    assert isinstance(data, list) and len(data) == 1 and data[0]["service_request_id"] == a.reference
    root = xml(client.get(f"{BASE}/requests/{a.reference}.xml"))
    assert root.tag == "service_requests" and len(root.findall("request")) == 1
    r = client.get(f"{BASE}/requests/SD000.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404


def test_request_filters(client, some, cats, submit):
    a, b = some
    submit(category=cats["emergency"], answers={})
    ids = lambda r: sorted(x["service_request_id"] for x in r.json())  # noqa: E731
    assert ids(client.get(f"{BASE}/requests.json", {"service_request_id": f"{b.reference},{a.reference}"})) == sorted(
        [a.reference, b.reference]
    )
    assert len(client.get(f"{BASE}/requests.json", {"service_code": "emergency"}).json()) == 1
    assert len(client.get(f"{BASE}/requests.json", {"service_code": "emergency,stair_light"}).json()) == 3
    assert ids(client.get(f"{BASE}/requests.json", {"status": "closed"})) == [b.reference]
    assert len(client.get(f"{BASE}/requests.json", {"status": "open"}).json()) == 2
    assert len(client.get(f"{BASE}/requests.json", {"page_size": "2"}).json()) == 2
    assert len(client.get(f"{BASE}/requests.json", {"page_size": "2", "page": "2"}).json()) == 1
    now = timezone.now()
    old = {"start_date": (now - timedelta(days=200)).isoformat(), "end_date": (now - timedelta(days=150)).isoformat()}
    assert client.get(f"{BASE}/requests.json", old).json() == []
    recent = {"start_date": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert len(client.get(f"{BASE}/requests.json", recent).json()) == 3


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},  # more than 90 days
        {"start_date": "yesterday"},
        {"status": "pending"},
        {"page_size": "0"},
        {"page_size": "5000"},
    ],
)
def test_bad_filters_are_400_errors(client, cats, params, fmt):
    r = client.get(f"{BASE}/requests.{fmt}", params)
    assert r.status_code == 400
    if fmt == "json":
        assert r.json()[0]["code"] == 400 and r.json()[0]["description"]
    else:
        assert xml(r).find("error/code").text == "400"


def test_jurisdiction_optional_but_checked(client, cats, mini):
    mini.district.code = "410103"
    mini.district.save()
    assert client.get(f"{BASE}/services.json", {"jurisdiction_id": "410103"}).status_code == 200
    assert client.get(f"{BASE}/services.json", {"jurisdiction_id": ""}).status_code == 200
    r = client.get(f"{BASE}/services.xml", {"jurisdiction_id": "chicago"})
    assert r.status_code == 404 and xml(r).tag == "errors"


def test_unknown_endpoint_and_format(client, cats):
    assert client.get(f"{BASE}/nothing.json").json()[0]["code"] == 404
    assert client.get(f"{BASE}/services.html").status_code == 404


def _post(client, fmt, **data):
    return client.post(f"{BASE}/requests.{fmt}", data)


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_post_with_coordinates_files_at_the_nearest_compound(client, key, mini, fmt):
    r = _post(client, fmt, api_key=key, service_code="drain_blocked", lat="34.7373", long="113.6402",
              description="下水道堵了", **{"attribute[overflow]": "yes"}, first_name="建国", last_name="张",
              phone="13812345678", email="z@example.org")  # fmt: skip
    assert r.status_code == 200, r.content
    if fmt == "json":
        (data,) = r.json()
        assert set(data) == {"service_request_id", "service_notice", "account_id"}
        ref = data["service_request_id"]
    else:
        root = xml(r)
        assert root.tag == "service_requests"
        ref = root.findtext("request/service_request_id")
    req = ServiceRequest.objects.get(reference=ref)
    assert req.compound == mini.courtyard and req.channel == "open311" and req.answers == {"overflow": "yes"}
    assert req.requester_phone == "13812345678" and req.open311_client.name == "311 app"
    token = client.get(f"{BASE}/tokens/{req.token}.{fmt}")
    assert token.status_code == 200 and ref in token.content.decode()


def test_post_with_address_string_and_multivalue_and_media(client, key, mini):
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buf, "JPEG")
    buf.seek(0)
    buf.name = "sofa.jpg"
    r = client.post(
        f"{BASE}/requests.json",
        {"api_key": key, "service_code": "elderly_help", "address_string": "福华街12号 油漆厂家属院",
         "attribute[needs][]": ["shopping", "visit"], "media": buf, "media_url": "https://example.org/p.jpg"},
    )  # fmt: skip
    assert r.status_code == 200, r.content
    req = ServiceRequest.objects.get(reference=r.json()[0]["service_request_id"])
    assert req.compound == mini.courtyard and req.answers == {"needs": ["shopping", "visit"]}
    assert req.photos.count() == 1 and req.media_url == "https://example.org/p.jpg"
    assert req.description == "老人帮扶"  # description is optional in Open311


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize("api_key", [None, "", "wrong-key"])
def test_post_without_a_valid_key_is_403(client, key, api_key, fmt):
    data = {"service_code": "emergency", "lat": "34.7", "long": "113.6"}
    if api_key is not None:
        data["api_key"] = api_key
    r = _post(client, fmt, **data)
    assert r.status_code == 403
    description = "Invalid api_key received -- can't proceed with create_request."
    if fmt == "json":
        assert r.json() == [{"code": 403, "description": description}]
    else:
        assert ET.tostring(xml(r), encoding="unicode") == (
            f"<errors><error><code>403</code><description>{description}</description></error></errors>"
        )
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize(
    ("data", "status", "needle"),
    [
        ({"lat": "34.7", "long": "113.6"}, 400, "service_code"),
        ({"service_code": "nope", "lat": "34.7", "long": "113.6"}, 404, "service_code"),
        ({"service_code": "emergency"}, 400, "location"),
        ({"service_code": "drain_blocked", "lat": "34.7", "long": "113.6"}, 400, "attribute[overflow]"),
        ({"service_code": "emergency", "lat": "north", "long": "113.6"}, 400, "lat"),
        ({"service_code": "emergency", "address_id": "999999"}, 400, "address_id"),
        ({"service_code": "emergency", "lat": "34.7", "long": "113.6", "phone": "12"}, 400, "phone"),
        ({"service_code": "emergency", "lat": "34.7", "long": "113.6", "media_url": "ftp://x"}, 400, "media_url"),
    ],
)
def test_post_refusals_write_nothing(client, key, data, status, needle):
    audits = AuditEntry.objects.count()
    r = _post(client, "json", api_key=key, **data)
    assert r.status_code == status and needle in r.json()[0]["description"]
    assert not ServiceRequest.objects.exists() and AuditEntry.objects.count() == audits


def test_several_missing_attributes_are_several_errors(client, key, cats):
    from gongzhi.servicedesk.models import Question

    actions.save_question(
        Question(category=cats["drain_blocked"], code="depth", label="积水多深", required=True, order=5), actor=None
    )
    r = _post(client, "xml", api_key=key, service_code="drain_blocked", lat="34.7", long="113.6")
    assert [e.findtext("code") for e in xml(r).findall("error")] == ["400", "400"]


def test_rate_limit_per_key(client, key, mini):
    from django.core.cache import cache

    cache.clear()
    other, other_key = actions.create_open311_client(actor=None, name="other", node=mini.district, per_minute=5)
    codes = [
        _post(client, "json", api_key=key, service_code="emergency", lat="34.7", long="113.6").status_code
        for _ in range(6)
    ]
    assert codes == [200] * 5 + [429]
    assert (
        _post(client, "json", api_key=other_key, service_code="emergency", lat="34.7", long="113.6").status_code == 200
    )


def test_keys_are_stored_hashed_and_the_command_prints_the_key_last(mini, cats):
    out = io.StringIO()
    call_command("open311_key", "Hotline bridge", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    client = Open311Client.objects.get(name="Hotline bridge")
    assert key not in client.key_hash and len(key) >= 30 and client.key_prefix == key[:8]
    assert actions.client_for_key(key) == client
    actions.set_open311_client_active(client, actor=None, active=False)
    assert actions.client_for_key(key) is None


def test_query_budget_for_the_list(client, some, submit, django_assert_max_num_queries):
    for _ in range(10):
        submit()
    with django_assert_max_num_queries(3):
        r = client.get(f"{BASE}/requests.xml")
    assert len(xml(r).findall("request")) == 12
    with django_assert_max_num_queries(3):
        client.get(f"{BASE}/services.json")


def test_scrub():
    assert (
        open311.scrub("电话 138 1234 5678，座机0371-68989517，mail x.y@z.com")
        == "电话 [phone]，座机[phone]，mail [email]"
    )
