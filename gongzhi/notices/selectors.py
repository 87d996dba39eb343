"""Reads for notices: public list by area (paged by key), a notice's tables (the voter roll read by key)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language, gettext

from gongzhi.core.models import Reader
from gongzhi.core.rules import scope_q
from gongzhi.notices.models import Notice
from gongzhi.registry.models import AreaNode

PAGE = 50


def public_notices(*, node: AreaNode | None = None, after: int = 0, size: int = PAGE) -> list[Notice]:
    qs = Notice.objects.filter(status=Notice.Status.PUBLISHED).select_related("node")
    if node is not None:
        qs = qs.filter(path__startswith=node.path)
    if after:
        qs = qs.filter(pk__lt=after)
    return list(qs.order_by("-pk")[:size])


def notices_in_force(*, size: int = PAGE) -> list[Notice]:
    """Published notices on the board today: posted, and their period not over (公示中, or 未开始 on the day of
    posting — the period starts the next day), the newest first."""
    today = timezone.localdate()
    qs = Notice.objects.filter(status=Notice.Status.PUBLISHED, posted_on__lte=today, period_end__gte=today)
    return list(qs.select_related("node").order_by("-pk")[:size])


def staff_notices(user: Reader, *, after: int = 0, size: int = PAGE) -> list[Notice]:
    q = scope_q(user, "staff", "path")
    qs: QuerySet = Notice.objects.select_related("node")
    if q is not None:
        qs = qs.filter(q)
    if after:
        qs = qs.filter(pk__lt=after)
    return list(qs.order_by("-pk")[:size])


# A table whose rows are read when the notice is shown (the voter roll: too long to copy into the notice) names
# its source; the part that publishes such notices registers the reader: source -> (vote_id, after, size) -> rows.
TABLE_SOURCES: dict[str, Callable[..., list[list[str]]]] = {}


def register_table_source(name: str, rows: Callable[..., list[list[str]]]) -> None:
    TABLE_SOURCES[name] = rows


def rendered_tables(notice: Notice, *, roll_limit: int | None = None, roll_after: int = 0) -> list[dict]:
    """The notice's tables ready to draw; the voter roll's rows come from the frozen roll, by head number.

    roll_limit=None reads the whole roll in pages of 2,000 (for the PDF); a web page passes a limit.
    """
    out = []
    for table in notice.tables or []:
        roll_rows = TABLE_SOURCES.get(table.get("source") or "")
        if roll_rows is not None and notice.vote_id:
            rows: list[list[str]] = []
            after = roll_after
            while True:
                size = 2000 if roll_limit is None else min(roll_limit - len(rows), 2000)
                if size <= 0:
                    break
                page = roll_rows(notice.vote_id, after=after, size=size)
                rows += page
                if len(page) < size:
                    break
                after = int(page[-1][0])
            out.append({**table, "rows": rows, "roll": True})
        else:
            out.append(table)
    return out


# The words of a notice's tables that the publishing part can give in English, read from its own records (the
# result notice's rule, conditions and reasons: voting's tally keeps both wordings): kind -> notice -> {zh: en}.
TABLE_GLOSSARIES: dict[str, Callable[[Notice], dict[str, str]]] = {}
HAN = re.compile(r"[\u4e00-\u9fff]")
# Older notices wrote some table titles in both languages ("资金来源 / Funding").
BOTH = re.compile(r"(.*[\u4e00-\u9fff].*?) / ([^\u4e00-\u9fff]+)")


def register_table_glossary(kind: str, glossary: Callable[[Notice], dict[str, str]]) -> None:
    TABLE_GLOSSARIES[kind] = glossary


@dataclass(frozen=True)
class Cell:
    """A word of a notice's table as a page shows it; `lang` marks the Chinese of the notice left as written."""

    text: str
    lang: str = ""


def page_tables(notice: Notice, *, roll_limit: int, roll_after: int = 0) -> list[dict]:
    """The notice's tables for a web page in the page's language: the fixed words through the catalogue, the
    publishing part's words through its glossary; what stays Chinese (names, the subject) is marked as such.
    The stored notice and its PDF keep the Chinese of the bulletin board."""
    tables = rendered_tables(notice, roll_limit=roll_limit, roll_after=roll_after)
    chinese = (get_language() or "zh").startswith("zh")
    glossary = {} if chinese or notice.kind not in TABLE_GLOSSARIES else TABLE_GLOSSARIES[notice.kind](notice)

    def cell(value: object) -> Cell:
        text = str(value)
        if chinese or not HAN.search(text):
            return Cell(text)
        if text in glossary:
            return Cell(glossary[text])
        if both := BOTH.fullmatch(text):
            return Cell(both.group(2))
        translated = gettext(text)
        return Cell(translated) if translated != text else Cell(text, "zh-Hans")

    return [
        {
            **table,
            "title": cell(table.get("title", "")),
            "columns": [cell(c) for c in table.get("columns", [])],
            "cells": [[cell(c) for c in row] for row in table.get("rows", [])],
            "note": cell(table["note"]) if table.get("note") else None,
        }
        for table in tables
    ]
