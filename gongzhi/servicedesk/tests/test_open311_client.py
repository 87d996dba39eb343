"""A third-party Open311 client from PyPI (`georeport`, pinned in requirements-test.txt) driving a live server.

georeport reads (services, definitions, requests, one request) in XML and JSON; it cannot file requests, so the
POST is made with `requests`, as an Open311 client would, and read back through georeport.
"""

from __future__ import annotations

import pytest
import requests
from georeport import GeoReport

from gongzhi.servicedesk import actions

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def served(live_server, mini, cats, worker, submit):
    req = submit(description="楼道灯不亮，电话13912345678")
    actions.dispatch_request(req, actor=worker)
    _client, key = actions.create_open311_client(actor=None, name="georeport", node=mini.district)
    return live_server.url + "/open311/v2", key, req


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_everything(served, fmt):
    base, key, req = served
    client = GeoReport(base, output_format=fmt)
    services = client.get_service_list()
    codes = [s["service_code"] for s in services]
    assert "stair_light" in codes and len(codes) == 8
    definition = client.get_service_definition("drain_blocked")
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    first = attributes[0] if isinstance(attributes, list) else attributes
    assert first["code"] == "overflow"
    one = client.get_service_request(req.reference)
    assert one["service_request_id"] == req.reference and one["status"] == "open"
    assert "13912345678" not in str(one)
    rows = client.get_service_requests(service_code="stair_light", status="open")
    rows = rows if isinstance(rows, list) else [rows]
    assert [r["service_request_id"] for r in rows] == [req.reference]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_then_read_back_with_georeport(served, fmt):
    base, key, _req = served
    r = requests.post(
        f"{base}/requests.{fmt}",
        data={"api_key": key, "service_code": "drain_blocked", "lat": "34.7372", "long": "113.6401",
              "attribute[overflow]": "no", "description": "雨水井堵塞"},
        timeout=10,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    client = GeoReport(base, api_key=key, output_format=fmt)
    if fmt == "json":
        ref = r.json()[0]["service_request_id"]
    else:
        import xmltodict

        ref = xmltodict.parse(r.content)["service_requests"]["request"]["service_request_id"]
    back = client.get_service_request(ref)
    assert back["service_code"] == "drain_blocked" and back["address"].startswith("油漆厂家属院")


def test_georeport_sees_http_errors(served):
    base, _key, _req = served
    client = GeoReport(base)
    with pytest.raises(requests.HTTPError) as e:
        client.get_service_definition("nope")
    assert e.value.response.status_code == 404 and e.value.response.json()[0]["code"] == 404
    r = requests.post(f"{base}/requests.json", data={"service_code": "emergency"}, timeout=10)
    assert r.status_code == 403
