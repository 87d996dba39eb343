"""Excel export of a survey's responses: one column per question in authoring order, multi-select as 0/1 columns,
codes and labels, filtered by date and area; a second sheet with the codebook and the rates' definitions.

Households appear as their opaque survey tokens and buildings, never names or flat numbers; an anonymous
survey has neither.
"""

from __future__ import annotations

from datetime import date
from io import BytesIO

from openpyxl import Workbook

from gongzhi.registry.models import AreaNode
from gongzhi.surveys import selectors
from gongzhi.surveys.models import Response, Survey

HEAD = ["回复编号 reference", "提交日期 date", "渠道 channel", "审核 review", "版本 version", "纸质编号 paper"]
NAMED_HEAD = ["住户代码 household", "楼栋 building"]


def _questions(survey: Survey) -> list[dict]:
    """Questions of every version, in authoring order of the newest, then those only older versions had; a repeat
    group's questions once per member it may hold (``members__2__age``), as KoboToolbox's wide export does."""
    seen: dict[str, dict] = {}
    for v in survey.versions.order_by("-number"):
        for q in v.flat:
            seen.setdefault(q["key"], q)
    newest = survey.versions.order_by("-number").first().flat
    keys = [q["key"] for q in newest] + [k for k in seen if k not in {q["key"] for q in newest}]
    return [seen[k] for k in keys]


def _columns(q: dict) -> list[tuple[str, object]]:
    """(header, extractor) pairs for one question."""
    key, label = q["key"], q["label"]
    if q["type"] == "single":
        labels = {c["code"]: c["label"] for c in q["choices"]}
        return [
            (f"{key} {label}", lambda a: a.get(key)),
            (f"{key}_label", lambda a: labels.get(a.get(key), "") if a.get(key) is not None else None),
        ]
    if q["type"] == "multiple":
        return [
            (f"{key}_{c['code']} {c['label']}", lambda a, c=c["code"]: None if key not in a else int(c in a[key]))
            for c in q["choices"]
        ]
    if q["type"] == "matrix":
        return [
            (f"{key}_{r['code']} {r['label']}", lambda a, r=r["code"]: (a.get(key) or {}).get(r)) for r in q["rows"]
        ]
    return [(f"{key} {label}", lambda a: _cell(a.get(key)))]


def _cell(value: object) -> object:
    """A cell's value: a calculated value may be a list or an object, written as text."""
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}:{v}" for k, v in value.items())
    return value


def workbook(
    survey: Survey, *, since: date | None = None, until: date | None = None, node: AreaNode | None = None
) -> bytes:
    qs = selectors.counted(survey).select_related("version", "household__building").order_by("submitted_at", "pk")
    if since:
        qs = qs.filter(submitted_at__date__gte=since)
    if until:
        qs = qs.filter(submitted_at__date__lte=until)
    if node is not None and not survey.anonymous:
        qs = qs.filter(household__path__startswith=node.path)
    questions = _questions(survey)
    cols = [c for q in questions for c in _columns(q)]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("回复 responses")
    head = HEAD + ([] if survey.anonymous else NAMED_HEAD) + [h for h, _ in cols]
    ws.append(head)
    channel = dict(Response.Channel.choices)
    review = dict(Response.Review.choices)
    for r in qs.iterator(chunk_size=2000):
        row = [
            None if survey.anonymous else r.reference,
            r.submitted_at.date(),
            str(channel.get(r.channel, r.channel)),
            str(review.get(r.review, r.review)),
            r.version.number,
            r.paper_number or None,
        ]
        if not survey.anonymous:
            row += [r.household.token if r.household else None, r.household.building.name if r.household else None]
        row += [f(r.answers) for _, f in cols]
        ws.append(row)
    book = wb.create_sheet("说明 codebook")
    book.append([f"{survey.title}（{survey.reference}）", f"{survey.opens_on} – {survey.closes_on}"])
    book.append(["题目 key", "题型 type", "题目 question", "代码 code", "含义 label"])
    for q in questions:
        book.append([q["key"], q["type"], q["label"]])
        for c in q.get("choices", []):
            book.append(["", "", "", c["code"], c["label"]])
        for r in q.get("rows", []):
            book.append(["", "", "", f"row:{r['code']}", r["label"]])
    book.append([])
    book.append(["口径 definitions"])
    for line in DEFINITIONS:
        book.append([line])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


DEFINITIONS = [
    "知晓率 = 回答“知晓”的户数 ÷ 回答了知晓题的户数 / awareness = households answering aware ÷ households answering",
    "参与率 = 有任一参与记录的户数 ÷ 范围内全部户数 / participation = households with a participation record ÷ "
    "all households in scope",
    "满意率 = 评分不低于“满意”线的户数 ÷ 给出评分的户数（不含不了解/不适用）/ satisfaction = households rating "
    "at or above the satisfied level ÷ households giving a rating",
    "回复率 = 回复户数 ÷ 范围内全部户数 / response = responding households ÷ households in scope",
    "抽样时给出95% Wilson区间，达标以区间下限判断；全部住户均回复时为普查 / 95% Wilson interval for samples; "
    "target judged on the lower bound; a census when every household responded",
]
