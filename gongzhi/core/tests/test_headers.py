"""Security headers: a strict Content-Security-Policy, HSTS when cookies are secure, and no-store on every answer
that may carry personal data (pages, files, exports, API answers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from gongzhi.core.models import Upload
from gongzhi.core.uploads import store_upload

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_every_page_has_a_strict_csp_and_no_store(client):
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response  # plain-HTTP development: no HSTS


@pytest.mark.django_db
@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_hsts_is_sent_when_cookies_are_secure(client):
    assert client.get("/accounts/login/")["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
def test_personal_data_pages_files_and_api_answers_are_not_stored(client, persona, mini):
    officer = persona("community_worker")
    client.force_login(officer)
    for url in ("/registry/", f"/registry/unit/{mini.units[0].pk}/", "/api/v1/nodes/"):
        response = client.get(url)
        assert response.status_code in (200, 302), url
        assert response["Cache-Control"] == "no-store", url
    upload = store_upload(b"%PDF-1.4\n%%EOF", name="scan.pdf", kind=Upload.Kind.SCAN, user=officer)
    response = client.get(f"/files/{upload.key}/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    api = APIClient()
    api.force_authenticate(officer)
    assert api.get("/api/v1/nodes/")["Cache-Control"] == "no-store"


def test_templates_carry_no_inline_script_or_event_handler():
    """The CSP forbids inline code; a template that had some would break silently in the browser."""
    offenders = []
    for path in ROOT.glob("gongzhi/**/templates/**/*.html"):
        if path.name == "pdf.html":  # rendered to PDF by WeasyPrint, never served to a browser
            continue
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in m.group(0):
                offenders.append(f"{path.relative_to(ROOT)}: inline <script>")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{path.relative_to(ROOT)}: event handler attribute")
        if "javascript:" in text:
            offenders.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert offenders == []
