"""Private uploads: type read from the content, size capped, photo metadata (GPS) stripped."""

from __future__ import annotations

import io

import pytest
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from gongzhi.core.models import Upload
from gongzhi.core.uploads import UploadError, store_upload

GPS_IFD = 0x8825


def jpeg_with_gps() -> bytes:
    """A photo as a phone takes it: EXIF with camera, time and a GPS position (油漆厂家属院)."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2026:10:12 09:30:00"  # DateTime
    exif[0x0112] = 1  # Orientation
    exif[GPS_IFD] = {1: "N", 2: (34.0, 44.0, 14.0), 3: "E", 4: (113.0, 38.0, 24.0)}
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 120, 0, 255)).save(out, "PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def test_the_test_photo_really_carries_gps():
    exif = Image.open(io.BytesIO(jpeg_with_gps())).getexif()
    assert exif.get_ifd(GPS_IFD)[1] == "N"


@pytest.mark.django_db
def test_a_photo_is_stored_without_any_exif(persona):
    user = persona("community_worker")
    upload = store_upload(jpeg_with_gps(), name="现场.jpg", kind=Upload.Kind.PHOTO, user=user, scope_path="/1/")
    assert upload.content_type == "image/jpeg"
    assert upload.file.name.endswith(".jpg")
    with upload.file.open("rb") as fh:
        stored = fh.read()
    image = Image.open(io.BytesIO(stored))
    assert image.size == (64, 48)
    assert len(image.getexif()) == 0
    assert "exif" not in image.info
    assert b"PhoneMaker" not in stored and b"GPS" not in stored
    assert upload.size == len(stored) and upload.uploaded_by == user


@pytest.mark.django_db
def test_a_png_is_accepted_and_re_encoded():
    upload = store_upload(png_bytes(), name="a.png", kind=Upload.Kind.PHOTO)
    assert upload.content_type == "image/png"
    with upload.file.open("rb") as fh:
        assert Image.open(fh).format == "PNG"


@pytest.mark.django_db
def test_a_pdf_is_accepted_as_a_scan():
    upload = store_upload(PDF, name="选票扫描.pdf", kind=Upload.Kind.SCAN)
    assert upload.content_type == "application/pdf"
    assert upload.original_name == "选票扫描.pdf"
    with upload.file.open("rb") as fh:
        assert fh.read() == PDF


@pytest.mark.django_db
def test_a_pdf_is_refused_as_a_photo():
    with pytest.raises(UploadError) as exc:
        store_upload(PDF, name="photo.pdf", kind=Upload.Kind.PHOTO)
    assert "文件类型不允许" in exc.value.zh
    assert Upload.objects.count() == 0


@pytest.mark.django_db
def test_a_program_renamed_jpg_is_refused():
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
    with pytest.raises(UploadError) as exc:
        store_upload(exe, name="photo.jpg", kind=Upload.Kind.PHOTO)
    assert "images or PDF only" in exc.value.en
    assert Upload.objects.count() == 0


@pytest.mark.django_db
def test_a_damaged_image_is_refused():
    with pytest.raises(UploadError, match="损坏"):
        store_upload(b"\xff\xd8\xff\xe0" + b"garbage" * 20, name="x.jpg", kind=Upload.Kind.PHOTO)


@pytest.mark.django_db
def test_an_empty_file_is_refused():
    with pytest.raises(UploadError, match="文件为空"):
        store_upload(b"", name="x.jpg", kind=Upload.Kind.PHOTO)


@pytest.mark.django_db
@override_settings(GONGZHI_UPLOAD_MAX_BYTES=1024 * 1024)
def test_a_file_over_the_limit_is_refused():
    with pytest.raises(UploadError) as exc:
        store_upload(PDF + b"0" * (1024 * 1024), name="big.pdf", kind=Upload.Kind.SCAN)
    assert "1MB" in exc.value.zh and "1 MB" in exc.value.en
    assert Upload.objects.count() == 0


@pytest.mark.django_db
def test_uploads_are_served_only_to_staff_in_scope(client, persona, mini):
    owner = persona("community_worker", username="owner")
    upload = store_upload(PDF, name="scan.pdf", kind=Upload.Kind.SCAN, user=owner, scope_path=mini.courtyard.path)
    url = reverse("core:upload", args=[upload.key])

    assert client.get(url).status_code == 302  # anonymous → sign in

    persona("community_worker", node=mini.other_subdistrict, username="elsewhere")
    client.login(username="elsewhere", password="Gongzhi-2026!")
    assert client.get(url).status_code == 403

    client.login(username="owner", password="Gongzhi-2026!")
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF


@pytest.mark.django_db
def test_a_decompression_bomb_is_refused_not_crashed_on():
    out = io.BytesIO()
    Image.new("1", (14000, 14000)).save(out, "PNG")  # ~25 KB on disk, 196 million pixels decoded
    with pytest.raises(UploadError, match="像素过多"):
        store_upload(out.getvalue(), name="bomb.png", kind=Upload.Kind.PHOTO)
