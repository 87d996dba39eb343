"""The staff dashboard and its Excel export over the demo's month of requests (every state, party members, late
orders): the crawl found the export answering 500 there ("Cannot convert '党员/联络员' to Excel", a lazy label)."""

import io

import pytest
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook


@pytest.mark.django_db
def test_dashboard_and_export_open_on_the_demo_month():
    call_command("load_demo", verbosity=0)
    from gongzhi.core.models import User

    c = Client(raise_request_exception=True)
    c.force_login(User.objects.get(username="community_worker"))
    assert c.get("/service/dashboard/").status_code == 200
    r = c.get("/service/dashboard/export.xlsx?days=30")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    assert {"三率", "按类别", "按接单方", "按社区", "超期工单"} <= set(book.sheetnames)
    assert book["按接单方"].max_row > 1  # the takers' rows were written, labels and all
    # 服务评价 over the demo's month: rated requests give a real figure, with its interval.
    from datetime import timedelta

    from django.utils import timezone

    today = timezone.localdate()
    r = c.get("/service/dashboard/ratings/", {"since": f"{today - timedelta(days=40)}", "until": f"{today}"})
    assert r.status_code == 200
    sat = r.context["overall"]["f"].satisfaction
    assert sat.denominator > 0 and sat.rate is not None and sat.low is not None
