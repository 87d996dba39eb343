"""A4 PDF of a notice for the bulletin board, in Chinese with an embedded Simplified Chinese font (WeasyPrint)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from gongzhi.core import audit
from gongzhi.notices.models import Notice

# Debian's fonts-noto-cjk; a deployment may point GONGZHI_CJK_FONT at another Simplified Chinese font file.
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
BOLD_CANDIDATES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",)


def _first(paths) -> str:
    for p in paths:
        if p and Path(p).exists():
            return p
    return ""


def font_files() -> tuple[str, str]:
    regular = _first((getattr(settings, "GONGZHI_CJK_FONT", ""), *FONT_CANDIDATES))
    bold = _first((getattr(settings, "GONGZHI_CJK_FONT_BOLD", ""), *BOLD_CANDIDATES))
    return regular, bold


def notice_context(notice: Notice, *, roll_limit: int | None = None) -> dict:
    from gongzhi.notices import selectors

    return {
        "notice": notice,
        "tables": selectors.rendered_tables(notice, roll_limit=roll_limit),
        "paragraphs": [p.strip() for p in notice.body.splitlines() if p.strip()],
    }


def notice_html(notice: Notice, *, checkpoint: audit.PrintedCheckpoint | None = None) -> str:
    """The PDF's HTML; every page's footer carries the audit checkpoint (the newest one unless given)."""
    regular, bold = font_files()
    checkpoint = checkpoint or audit.latest_printed()
    with translation.override("zh-hans"):
        return render_to_string(
            "notices/pdf.html",
            {**notice_context(notice), "font": regular, "font_bold": bold, "checkpoint": checkpoint},
        )


def notice_pdf_bytes(notice: Notice, *, checkpoint: audit.PrintedCheckpoint | None = None) -> bytes:
    import weasyprint

    html = notice_html(notice, checkpoint=checkpoint)
    return weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
