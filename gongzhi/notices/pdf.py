"""A4 PDF of a notice for the bulletin board, in Chinese with an embedded Simplified Chinese font (WeasyPrint)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from gongzhi.notices import selectors
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
    return {
        "notice": notice,
        "tables": selectors.rendered_tables(notice, roll_limit=roll_limit),
        "paragraphs": [p.strip() for p in notice.body.splitlines() if p.strip()],
    }


def notice_html(notice: Notice) -> str:
    regular, bold = font_files()
    with translation.override("zh-hans"):
        return render_to_string("notices/pdf.html", {**notice_context(notice), "font": regular, "font_bold": bold})


def notice_pdf_bytes(notice: Notice) -> bytes:
    import weasyprint

    return weasyprint.HTML(string=notice_html(notice), base_url=str(settings.BASE_DIR)).write_pdf()
