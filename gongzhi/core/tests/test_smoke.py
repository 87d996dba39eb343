import pytest
from django.urls import reverse

from gongzhi.core.audit import verify


@pytest.mark.django_db
def test_mini_district_builds_with_counts_and_an_intact_audit_log(mini):
    mini.courtyard.refresh_from_db()
    assert mini.courtyard.unit_count == 6
    assert mini.courtyard.resident_count == 3
    assert mini.courtyard.aged_60_count == 2  # born 1941 and 1958 (aged 60+ on any date from 2018)
    assert mini.courtyard.aged_80_count == 1
    mini.district.refresh_from_db()
    assert mini.district.unit_count == 9
    assert list(verify()) == []


@pytest.mark.django_db
def test_login_page_renders_in_chinese(client):
    response = client.get(reverse("core:login"))
    assert response.status_code == 200
    assert "登录" in response.content.decode()
