"""Private uploads: the type is read from the content (not the name), the size is capped, and photos are
re-encoded without their metadata (EXIF GPS position, camera, time) before anything is stored."""

from __future__ import annotations

import hashlib
import io

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from gongzhi.core.models import Upload

# Pillow's own guard warns only above 89 million pixels and refuses above twice that; ours is lower and refuses.
Image.MAX_IMAGE_PIXELS = settings.GONGZHI_IMAGE_MAX_PIXELS

IMAGE_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}


class UploadError(ValueError):
    def __init__(self, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def _sniff(data: bytes) -> str:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if (
        data[:3] == b"\xff\xd8\xff"
        or data.startswith(b"\x89PNG\r\n\x1a\n")
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    ):
        return "image"
    return ""


def check_image_header(img: Image.Image) -> None:
    """Refuse before decoding what would take too much memory to decode: the pixel count comes from the header
    (a 0.5 MB PNG can declare 13,000 × 13,000 pixels — 500 MB once decoded)."""
    width, height = img.size
    if width <= 0 or height <= 0:
        raise UploadError("图片文件已损坏或无法识别", "the image is damaged or not recognised")
    limit = settings.GONGZHI_IMAGE_MAX_PIXELS
    if width * height > limit:
        raise UploadError(
            f"图片像素过多（{width}×{height}），最多{limit // 1_000_000}百万像素",
            f"the image has too many pixels ({width}×{height}); at most {limit // 1_000_000} megapixels",
        )


def strip_image(data: bytes) -> tuple[bytes, str, str]:
    """Re-encode an image with no metadata; rotation from EXIF is applied first so the photo stays upright."""
    try:
        img: Image.Image = Image.open(io.BytesIO(data))  # reads the header only
        fmt = img.format
        check_image_header(img)
        img.load()
    except Image.DecompressionBombError:  # a few KB that would decode to gigabytes
        raise UploadError("图片像素过多", "the image has too many pixels") from None
    except (UnidentifiedImageError, OSError):
        raise UploadError("图片文件已损坏或无法识别", "the image is damaged or not recognised") from None
    if fmt not in IMAGE_FORMATS:
        raise UploadError("只接受 JPEG、PNG、WebP 图片", "only JPEG, PNG and WebP images are accepted")
    img = ImageOps.exif_transpose(img)
    out = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=88)
    else:
        img.save(out, fmt)
    content_type, ext = IMAGE_FORMATS[fmt]
    return out.getvalue(), content_type, ext


def store_upload(data: bytes, *, name: str, kind: str, user=None, scope_path: str = "") -> Upload:
    """Validate and store a file privately. Callers (actions) record the audit entry with their change."""
    if not data:
        raise UploadError("文件为空", "the file is empty")
    if len(data) > settings.GONGZHI_UPLOAD_MAX_BYTES:
        mb = settings.GONGZHI_UPLOAD_MAX_BYTES // (1024 * 1024)
        raise UploadError(f"文件超过{mb}MB上限", f"the file is larger than the {mb} MB limit")
    sniffed = _sniff(data)
    if sniffed == "image":
        data, content_type, ext = strip_image(data)
    elif sniffed == "pdf" and kind != Upload.Kind.PHOTO:
        content_type, ext = "application/pdf", "pdf"
    else:
        raise UploadError("文件类型不允许：只接受图片或PDF", "file type not allowed: images or PDF only")
    digest = hashlib.sha256(data).hexdigest()
    upload = Upload(
        kind=kind,
        original_name=name[:255],
        content_type=content_type,
        size=len(data),
        sha256=digest,
        uploaded_by=user if getattr(user, "pk", None) else None,
        scope_path=scope_path,
    )
    upload.file.save(f"{upload.key}.{ext}", ContentFile(data), save=False)
    upload.save()
    return upload
