"""Hostile input: what an outsider (or a careless client) sends must get a clear 4xx — never a 500 — and write
nothing: no row, no file, no audit entry. Each case here once answered 500 or half-kept a refusal."""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from gongzhi.core.models import AuditEntry, RateCounter, Upload
from gongzhi.core.spreadsheets import csv_text, unescape
from gongzhi.core.uploads import UploadError, store_upload
from gongzhi.registry.importer import RosterFileError, estimate_rows, read_table
from gongzhi.registry.tests.roster_files import xlsx_bytes
from testkit.world import PASSWORD

TOKEN = "/api/v1/token/"


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status and body["message"] and body["message_en"]
    assert isinstance(body["errors"], list)
    return body


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- Ids that are not numbers ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/votes/abc/"),
        ("get", "/api/v1/votes/1e5/turnout/"),
        ("post", "/api/v1/votes/--/ballots/"),
        ("get", "/api/v1/matters/abc/"),
        ("post", "/api/v1/matters/abc/opinions/"),
        ("post", "/api/v1/matters/abc/objections/"),
        ("post", "/api/v1/bulky/stops/abc/mark/"),
        ("get", "/api/v1/organizations/%E4%B8%80/"),
        ("get", "/api/v1/no-such-thing/"),
    ],
)
def test_a_non_numeric_or_unknown_id_is_a_json_404(persona, method, path):
    client = APIClient()
    client.force_authenticate(persona("district_admin"))
    body = assert_error_shape(getattr(client, method)(path, {}, format="json"), 404)
    assert body["message_en"] == "not found"


@pytest.mark.django_db
def test_a_wrong_method_under_api_is_a_json_405(persona):
    client = APIClient()
    client.force_authenticate(persona("district_admin"))
    assert_error_shape(client.put("/api/v1/votes/", {}, format="json"), 405)


@pytest.mark.django_db
def test_options_on_the_person_lookup_answers_without_error(persona):
    client = APIClient()
    client.force_authenticate(persona("community_worker"))
    response = client.options("/api/v1/persons/lookup/")
    assert response.status_code == 200 and "actions" not in response.json()
    assert_error_shape(APIClient().options("/api/v1/persons/lookup/"), 401)


# --- The token endpoint (no sign-in needed) ----------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('["wang", "secret"]', "application/json"),
        ('"wang"', "application/json"),
        ("42", "application/json"),
        ("null", "application/json"),
        ("{", "application/json"),
        (DEEP, "application/json"),
        ('{"a":' * 5000 + "1" + "}" * 5000, "application/json"),
        ('{"username": "wa\\u0000ng", "password": "x"}', "application/json"),
        ('{"username": "\\ud800", "password": "x"}', "application/json"),
        ('{"username": "wang", "password": "\\udfff"}', "application/json"),
        (json.dumps({"username": "w" * 151, "password": "x"}), "application/json"),
        (json.dumps({"username": "王" * 10_000, "password": "x"}), "application/json"),
        (json.dumps({"username": ["wang"], "password": {"p": 1}}), "application/json"),
        ("username=wa%00ng&password=x", "application/x-www-form-urlencoded"),
        ("username=%ED%A0%80&password=x", "application/x-www-form-urlencoded"),
        ("\x00\x01\x02", "application/octet-stream"),
    ],
)
def test_the_token_endpoint_refuses_bad_bodies_with_400_and_writes_nothing(persona, body, content_type):
    persona("community_worker", username="wang")
    audit_before = AuditEntry.objects.count()
    response = APIClient().generic("POST", TOKEN, body.encode("utf-8", "surrogatepass"), content_type=content_type)
    assert response.status_code in (400, 415), response.content[:300]
    assert_error_shape(response, response.status_code)
    assert not Token.objects.exists()
    assert AuditEntry.objects.count() == audit_before


@pytest.mark.django_db
def test_an_over_long_user_name_is_a_form_error_on_the_sign_in_pages(client):
    for url in ("/accounts/login/", "/admin/login/"):
        response = client.post(url, {"username": "x" * 5000, "password": "secret"})
        assert response.status_code == 200
        assert "150" in response.content.decode()  # "at most 150 characters", in the page's language
        response = client.post(url, {"username": "wa\x00ng", "password": "secret"})
        assert response.status_code == 400 and "空字符" in response.content.decode()


@pytest.mark.django_db
def test_unknown_user_names_add_no_counter_per_name(client):
    for i in range(30):
        client.post("/accounts/login/", {"username": f"nobody-{i}", "password": "x"})
    # one counter for the address's sign-ins and one for its anonymous writes: none per invented name
    assert RateCounter.objects.count() == 2


# --- NUL and lone surrogates in addresses, query strings and forms ---------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/deliberation/?stage=%00",
        "/deliberation/?stage=a%00b",
        "/bulky/b/AB%00CD/",
        "/bulky/hotline/?q=%00",
        "/api/v1/notices/?cursor=%00",
    ],
)
def test_nul_in_the_address_is_a_400_page_in_the_readers_language(persona, client, url):
    client.force_login(persona("hotline_operator"))
    response = client.get(url)
    assert response.status_code == 400
    text = response.content.decode()
    assert "空字符" in text or "null" in text.lower()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 400


@pytest.mark.django_db
def test_invalid_utf8_in_the_query_string_is_read_as_replacement_characters(persona, client):
    client.force_login(persona("hotline_operator"))
    assert client.get("/bulky/hotline/?q=%ED%A0%80").status_code == 200  # Django decodes it as U+FFFD


@pytest.mark.django_db
def test_nul_in_a_form_field_is_refused_before_the_view(client, persona):
    client.force_login(persona("hotline_operator"))
    response = client.post("/bulky/hotline/", {"q": "张\x00三", "lookup": "1"})
    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header, value, field",
    [
        ("HTTP_IDEMPOTENCY_KEY", "key\x00one", "Idempotency-Key"),  # goes into a query on every keyed create
        ("HTTP_AUTHORIZATION", "Token ab\x00cd", "Authorization"),  # the token is looked up
    ],
)
def test_nul_in_a_request_header_is_a_json_400_naming_it_and_writes_nothing(persona, header, value, field):
    from gongzhi.core.models import AuditEntry

    before = AuditEntry.objects.count()
    response = APIClient().post("/api/v1/token/", {"username": "x", "password": "y"}, format="json", **{header: value})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert AuditEntry.objects.count() == before


# --- Images: decoded size checked from the header ------------------------------------------------------


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width × height pixels (8-bit grey) over a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.django_db
@pytest.mark.parametrize("size", [(13_000, 13_000), (100_000, 1_000), (8_000, 8_000)])
def test_a_decompression_bomb_is_refused_from_its_header(size):
    files = stored_files()
    with pytest.raises(UploadError) as e:
        store_upload(png_header_only(*size), name="bomb.png", kind=Upload.Kind.PHOTO)
    assert "像素" in e.value.zh and "pixels" in e.value.en
    assert not Upload.objects.exists() and stored_files() == files


@pytest.mark.django_db
def test_a_bomb_sent_anonymously_as_a_dumping_photo_is_a_400_and_writes_nothing():
    audit_before, files = AuditEntry.objects.count(), stored_files()
    photo = SimpleUploadedFile("x.png", png_header_only(13_000, 13_000), content_type="image/png")
    response = APIClient().post(
        "/api/v1/bulky/dumping-reports/", {"description": "沙发丢在路边", "photo": photo}, format="multipart"
    )
    body = assert_error_shape(response, 400)
    assert body["errors"][0]["field"] == "photo"
    assert not Upload.objects.exists() and stored_files() == files and AuditEntry.objects.count() == audit_before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,  # a signature and nothing valid
        png_header_only(10, 10)[:40],  # cut off inside the first chunk
        b"%PDF-1.4\n" + b"A" * 10,  # fine as a document, not as a photo
        b"GIF89a" + b"\x00" * 20,
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"\xff\xd8\xff\xe0" + b"<?php echo 1; ?>",  # a polyglot: JPEG magic, script body
    ],
)
def test_broken_or_foreign_images_are_refused(data):
    files = stored_files()
    with pytest.raises(UploadError):
        store_upload(data, name="x.png", kind=Upload.Kind.PHOTO)
    assert not Upload.objects.exists() and stored_files() == files


# --- A refused ballot keeps nothing -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_ballot_refused_with_409_writes_no_attachment_and_no_audit_entry(mini):
    from testkit.voting import PDF, build_owners_compound, open_vote_now

    compound = build_owners_compound(mini)
    from testkit.world import make_user

    organiser = make_user("organiser", "community_worker", mini.community)
    vote = open_vote_now(compound, organiser)
    client = APIClient()
    client.force_authenticate(organiser)
    url = f"/api/v1/votes/{vote.pk}/ballots/"
    roll_token = vote.roll.get(voter=compound.zhao).token
    first = client.post(
        url, {"roll_token": roll_token, "choice": "yes", "channel": "phone"}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert first.status_code == 201
    uploads, audit, files = Upload.objects.count(), AuditEntry.objects.count(), stored_files()
    scan = SimpleUploadedFile("ballot.pdf", PDF, content_type="application/pdf")
    again = client.post(
        url,
        {"roll_token": roll_token, "choice": "no", "channel": "paper", "attachment": scan},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k2",
    )
    assert again.status_code == 409
    assert Upload.objects.count() == uploads and AuditEntry.objects.count() == audit and stored_files() == files


# --- Roster files --------------------------------------------------------------------------------------------


def rewrite_xlsx(data: bytes, change) -> bytes:
    """The workbook with each part passed through change(name, bytes) -> bytes | None (None drops the part)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = change(info.filename, src.read(info.filename))
            if body is not None:
                dst.writestr(info.filename, body)
    return out.getvalue()


def sample_xlsx(rows: int = 3) -> bytes:
    return xlsx_bytes([{"building": "1号楼", "entrance": "1单元", "number": f"{i + 101}"} for i in range(rows)])


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)
XXE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _with_prolog(prolog: bytes):
    def change(name, body):
        if name.startswith("xl/worksheets/sheet"):
            return prolog + re.sub(rb"^<\?xml[^>]*\?>", b"", body)
        return body

    return change


@pytest.mark.parametrize(
    ("make", "zh"),
    [
        (lambda: sample_xlsx()[:-200], "已损坏"),  # cut off: the zip directory is missing
        (lambda: sample_xlsx()[: len(sample_xlsx()) // 2], "已损坏"),
        (lambda: rewrite_xlsx(sample_xlsx(), _with_prolog(LAUGHS)), "DOCTYPE"),
        (lambda: rewrite_xlsx(sample_xlsx(), _with_prolog(XXE)), "DOCTYPE"),
        (
            lambda: rewrite_xlsx(sample_xlsx(), lambda n, b: None if n.startswith("xl/worksheets/") else b),
            "没有工作表",
        ),
        (lambda: rewrite_xlsx(sample_xlsx(), lambda n, b: None if n == "xl/workbook.xml" else b), "已损坏"),
        (
            lambda: rewrite_xlsx(
                sample_xlsx(),
                lambda n, b: b[: len(b) // 2] if n.startswith("xl/worksheets/sheet") else b,
            ),
            "已损坏",
        ),
        (lambda: b"col\n" + b'"' + b"x" * 140_000 + b'"\n', "CSV"),  # a field over csv's 128 KB limit
        (lambda: b'a,b\n"unclosed,1\n' + b"x" * 200_000, "CSV"),
    ],
)
def test_malformed_roster_files_are_refused_with_a_reason(make, zh):
    with pytest.raises(RosterFileError) as e:
        read_table(make())
    assert zh in e.value.zh and e.value.en


def test_a_zip_bomb_workbook_is_refused():
    def change(name, body):
        if name.startswith("xl/worksheets/sheet"):
            return body.replace(b"</worksheet>", b"<!--" + b" " * 50_000_000 + b"--></worksheet>")
        return body

    with pytest.raises(RosterFileError) as e:
        read_table(rewrite_xlsx(sample_xlsx(), change))
    assert "压缩炸弹" in e.value.zh


def test_a_declared_dimension_that_lies_is_not_trusted():
    rows = 3000
    data = rewrite_xlsx(
        sample_xlsx(rows),
        lambda n, b: re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:C2"', b) if "worksheets" in n else b,
    )
    assert b'ref="A1:C2"' in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert len(read_table(data)) == rows + 1  # the header and every row, not the one the dimension claims
    assert estimate_rows(data) >= rows // 2  # big enough to be checked on the worker, as it should


@pytest.mark.django_db
def test_a_billion_laughs_roster_sent_to_the_api_is_a_400(persona, mini):
    client = APIClient()
    client.force_authenticate(persona("registry_officer", node=mini.community))
    data = rewrite_xlsx(sample_xlsx(), _with_prolog(LAUGHS))
    response = client.post(
        "/api/v1/roster-imports/",
        {"compound": mini.courtyard.pk, "dry_run": True, "file": SimpleUploadedFile("r.xlsx", data)},
        format="multipart",
    )
    body = assert_error_shape(response, 400)
    assert body["errors"][0]["field"] == "file" and "DOCTYPE" in body["errors"][0]["message"]


# --- Exports: nothing a spreadsheet would run ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")'])
def test_export_cells_that_look_like_formulas_are_escaped_and_read_back(text):
    escaped = csv_text(text)
    assert escaped.startswith("'") and unescape(escaped) == text
    assert csv_text("王小明") == "王小明" and csv_text(None) == ""


@pytest.mark.django_db
def test_the_sign_in_password_form_still_works_after_all_this(client, persona):
    persona("community_worker", username="wang")
    response = client.post("/accounts/login/", {"username": "wang", "password": PASSWORD})
    assert response.status_code == 302
