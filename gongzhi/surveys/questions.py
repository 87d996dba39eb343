"""Questions as data: their shape, checked on save, and answers checked against them on submit (any channel).

A survey version holds a list of questions in authoring order. Each question is a dict::

    {"key": "q1", "type": "single", "label": "您是否知道本小区的改造项目？", "label_en": "...",
     "help": "", "required": true, "relevant": "", "constraint": "", "constraint_message": "",
     "choices": [{"code": "yes", "label": "知道", "label_en": "Yes"}, ...],
     "rows": [...],               # matrix only: the rows; `choices` are its columns
     "min": 1, "max": 5,          # number (bounds), rating (scale, min 1)
     "na": true,                  # rating: offers 不了解/不适用 (recorded as no rating)
     "measures": "",              # "awareness" (single: choices carry "aware": true/false) or "satisfaction"
     "choice_filter": "",         # single/multiple: which options to offer, e.g. "@tag = ${building}"
     "calculation": "",           # calculate only: the value, e.g. "coalesce(number(${s1}), 0) + ..."
     "publish": false}            # results of this question may be published (never for text)

A repeat (重复组) asks a few questions once per member of a set, e.g. once per household member::

    {"key": "members", "type": "repeat", "label": "家庭成员", "count": "${n_people}", "max": 8, "relevant": ""}
    {"key": "age", "type": "number", "label": "年龄", "group": "members", ...}
    {"key": "works", "type": "single", "label": "是否就业", "group": "members", "relevant": "${age} >= 16"}

The questions of a group follow its header directly and carry `"group"`. `count` is a rule over earlier answers
giving how many times the group is asked (at most `max`, 1–20); inside the group ``${age}`` is this member's
answer. Before it is answered or checked a survey's list is *expanded* (`expand`): the header becomes a calculated
value (the number of members asked, which later rules read as ``${members}``) and each group question becomes
`max` copies keyed ``members__1__age`` … shown while ``${members} >= i``, with the group's own references
rewritten to the copy's siblings. So the rule language, the walk, the checks, the browser and the export work on
plain questions, and both sides expand the same list (the browser is sent the expanded one).

A choice may carry a "tag" (letters, digits, _), read by choice filters as ``@tag`` (its code as ``@code``).
A `calculate` question is never shown nor answered: the server computes its value from the earlier answers (the
browser the same way, with logic.js) and keeps it with the answers, where later rules and the export read it.
A choice question whose filter keeps no option is hidden like a skipped one.

Answers are JSON values: single → a code; multiple → a list of codes; rating → an integer or "na"; number → a
number; date → "YYYY-MM-DD"; text → a string; matrix → {row code: column code}. A question whose `relevant`
rule does not hold is hidden: its answer is dropped and it is never required.

Messages come in Chinese and English (`AnswerError.zh` / `.en`) and name the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TypeGuard

from gongzhi.surveys import logic

TYPES = ("single", "multiple", "rating", "number", "date", "text", "matrix", "calculate", "repeat")
GROUPED_TYPES = ("single", "multiple", "rating", "number", "date", "text", "calculate")
REPEAT_MAX = 20
COUNT_MAX_LENGTH = 200  # the count appears twice in the group's calculation (≤ logic.MAX_LENGTH)
SEP = "__"  # expanded keys: group, instance, key
CHOICE_TYPES = ("single", "multiple", "matrix")
MEASURES = ("", "awareness", "satisfaction")
KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
CODE_RE = re.compile(r"^[A-Za-z0-9_]{1,40}$")
TEXT_MAX = 2000
NA = "na"
ALLOWED = {
    "key",
    "type",
    "label",
    "label_en",
    "help",
    "help_en",
    "required",
    "relevant",
    "constraint",
    "constraint_message",
    "constraint_message_en",
    "choices",
    "rows",
    "min",
    "max",
    "na",
    "measures",
    "publish",
    "choice_filter",
    "calculation",
    "count",
    "group",
}


@dataclass
class DefinitionError(ValueError):
    """A question definition that cannot be saved; `index` is the question's position (0-based) or None."""

    zh: str
    en: str
    index: int | None = None
    field: str = ""

    def __str__(self) -> str:
        where = f"第{self.index + 1}题 " if self.index is not None else ""
        where_en = f"question {self.index + 1}: " if self.index is not None else ""
        return f"{where}{self.zh} / {where_en}{self.en}"


@dataclass
class AnswerError(ValueError):
    """An answer refused, naming the question (key) and the reason."""

    key: str
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


def _int(v: object) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _options(q: dict, field: str, i: int) -> list[dict]:
    opts = q.get(field)
    if not isinstance(opts, list) or not opts:
        raise DefinitionError("至少需要一个选项", "needs at least one option", i, field)
    seen = set()
    for o in opts:
        if not isinstance(o, dict) or not isinstance(o.get("label"), str) or not o["label"].strip():
            raise DefinitionError("每个选项都需要文字", "every option needs a label", i, field)
        code = o.get("code")
        if not isinstance(code, str) or not CODE_RE.match(code):
            raise DefinitionError(
                "选项代码只能用字母、数字和下划线", "option codes are letters, digits and _", i, field
            )
        if code in seen:
            raise DefinitionError(f"选项代码“{code}”重复", f"duplicate option code {code!r}", i, field)
        seen.add(code)
    return opts


def validate_definition(questions: object) -> list[dict]:
    """Check a whole question list; return it normalised (defaults filled) or raise DefinitionError."""
    if not isinstance(questions, list) or not questions:
        raise DefinitionError("问卷至少需要一道题", "a survey needs at least one question")
    out: list[dict] = []
    keys: list[str] = []  # every key so far (unique across the survey)
    top_keys: list[str] = []  # keys later top-level rules may read (a group's count, not its questions)
    group = ""  # the repeat group open at this point, and its questions so far
    siblings: list[str] = []
    measured: set[str] = set()
    for i, q in enumerate(questions):
        if not isinstance(q, dict):
            raise DefinitionError("格式不正确", "is not an object", i)
        extra = sorted(set(q) - ALLOWED)
        if extra:
            raise DefinitionError(f"不认识的属性“{extra[0]}”", f"unknown property {extra[0]!r}", i, extra[0])
        key = q.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise DefinitionError(
                "题目代码需以字母开头，只含字母、数字和下划线",
                "the key must be a letter then letters/digits/_",
                i,
                "key",
            )
        if SEP in key:
            raise DefinitionError(
                "题目代码不能含两个连续的下划线", "a key cannot contain two underscores in a row", i, "key"
            )
        if key in keys:
            raise DefinitionError(f"题目代码“{key}”重复", f"duplicate key {key!r}", i, "key")
        in_group = str(q.get("group") or "")
        if in_group and in_group != group:
            raise DefinitionError(
                f"重复组“{in_group}”的题目须紧跟在该组或组内其他题目之后",
                f"questions of the repeat group {in_group!r} must follow the group directly",
                i,
                "group",
            )
        if group and not in_group and not siblings:
            raise DefinitionError(
                "重复组下至少需要一道题", "a repeat group needs at least one question", i - 1, "group"
            )
        if not in_group:
            group, siblings = "", []
        kind = q.get("type")
        if kind not in TYPES:
            raise DefinitionError("题型不正确", f"type must be one of {', '.join(TYPES)}", i, "type")
        label = q.get("label")
        if not isinstance(label, str) or not label.strip():
            raise DefinitionError("请填写题目", "the question text is missing", i, "label")
        n = {
            "key": key,
            "type": kind,
            "label": label.strip(),
            "label_en": str(q.get("label_en") or "").strip(),
            "help": str(q.get("help") or "").strip(),
            "help_en": str(q.get("help_en") or "").strip(),
            "required": bool(q.get("required", False)),
            "relevant": str(q.get("relevant") or "").strip(),
            "constraint": str(q.get("constraint") or "").strip(),
            "constraint_message": str(q.get("constraint_message") or "").strip(),
            "constraint_message_en": str(q.get("constraint_message_en") or "").strip(),
            "measures": q.get("measures") or "",
            "publish": bool(q.get("publish", False)),
        }
        if kind in CHOICE_TYPES:
            n["choices"] = [
                {k: v for k, v in o.items() if k in ("code", "label", "label_en", "aware", "tag")}
                for o in _options(q, "choices", i)
            ]
            for o in n["choices"]:
                if "tag" in o and (not isinstance(o["tag"], str) or not CODE_RE.match(o["tag"])):
                    raise DefinitionError(
                        "选项分组只能用字母、数字和下划线", "option tags are letters, digits and _", i, "choices"
                    )
        if kind in ("single", "multiple"):
            n["choice_filter"] = str(q.get("choice_filter") or "").strip()
        elif q.get("choice_filter"):
            raise DefinitionError(
                "只有单选题和多选题可以筛选选项", "only single and multiple choice filter options", i, "choice_filter"
            )
        if in_group:
            n["group"] = in_group
            if kind not in GROUPED_TYPES:
                raise DefinitionError(
                    "重复组内只能放单选、多选、评分、数字、日期、文字题或计算值",
                    "a repeat group holds single, multiple, rating, number, date, text or calculated questions",
                    i,
                    "type",
                )
            if n["measures"] or n["publish"]:
                raise DefinitionError(
                    "重复组内的题目不用于三率、不公开结果",
                    "questions in a repeat group are not measured nor published",
                    i,
                    "measures" if n["measures"] else "publish",
                )
        if kind == "repeat":
            count = str(q.get("count") or "").strip()
            if not count:
                raise DefinitionError(
                    "请说明重复几次（如“${q2}”，即前面某题回答的人数）",
                    "say how many times the group repeats (e.g. ${q2}, an earlier answer)",
                    i,
                    "count",
                )
            if len(count) > COUNT_MAX_LENGTH:
                raise DefinitionError(
                    f"次数规则不能超过{COUNT_MAX_LENGTH}字",
                    f"the count rule is longer than {COUNT_MAX_LENGTH} characters",
                    i,
                    "count",
                )
            top_n = q.get("max", 10)
            if not _int(top_n) or not 1 <= top_n <= REPEAT_MAX:
                raise DefinitionError(
                    f"最多重复次数应为1到{REPEAT_MAX}", f"a group repeats at most 1–{REPEAT_MAX} times", i, "max"
                )
            if n["required"] or n["constraint"] or n["measures"] or n["publish"]:
                raise DefinitionError(
                    "重复组本身不需回答：不能必答、校验、公开或用于三率",
                    "a repeat group itself is not answered: not required, constrained, published or measured",
                    i,
                    "type",
                )
            n["count"], n["max"] = count, top_n
        elif q.get("count"):
            raise DefinitionError("只有重复组有次数", "only a repeat group has a count", i, "count")
        if kind == "calculate":
            n["calculation"] = str(q.get("calculation") or "").strip()
            if not n["calculation"]:
                raise DefinitionError("请填写计算公式", "the calculation is missing", i, "calculation")
            if n["required"] or n["constraint"] or n["measures"]:
                raise DefinitionError(
                    "计算题不需回答：不能必答、校验或用于三率",
                    "a calculated value is not answered: not required, constrained or measured",
                    i,
                    "calculation",
                )
        elif q.get("calculation"):
            raise DefinitionError("只有计算题有公式", "only a calculated question has a calculation", i, "calculation")
        if kind == "matrix":
            n["rows"] = [
                {k: v for k, v in o.items() if k in ("code", "label", "label_en")} for o in _options(q, "rows", i)
            ]
        if kind == "rating":
            top = q.get("max", 5)
            if not _int(top) or not 2 <= top <= 10:
                raise DefinitionError("评分的最高分应为2到10", "a rating scale runs to 2–10", i, "max")
            n["min"], n["max"], n["na"] = 1, top, bool(q.get("na", True))
        if kind == "number":
            for b in ("min", "max"):
                if q.get(b) is not None and not _num(q.get(b)):
                    raise DefinitionError("数值范围须为数字", f"{b} must be a number", i, b)
            n["min"], n["max"] = q.get("min"), q.get("max")
            if n["min"] is not None and n["max"] is not None and n["min"] > n["max"]:
                raise DefinitionError("最小值大于最大值", "min is above max", i, "min")
        if kind == "text" and n["publish"]:
            raise DefinitionError("文字题的结果不能公开", "free-text answers are never published", i, "publish")
        m = n["measures"]
        if m not in MEASURES:
            raise DefinitionError("统计口径不正确", "measures must be awareness or satisfaction", i, "measures")
        if m == "awareness":
            if kind != "single":
                raise DefinitionError(
                    "知晓率题须为单选题", "the awareness question must be single choice", i, "measures"
                )
            flags = [o.get("aware") for o in n["choices"]]
            if any(f not in (True, False, None) for f in flags) or True not in flags or False not in flags:
                raise DefinitionError(
                    "知晓率题须标明哪些选项算“知晓”、哪些算“不知晓”",
                    "mark which choices count as aware and which as not aware",
                    i,
                    "choices",
                )
        if m == "satisfaction" and (kind != "rating" or n["max"] != 5):
            raise DefinitionError(
                "满意率题须为1–5分评分题", "the satisfaction question must be a 1–5 rating", i, "measures"
            )
        if m:
            if m in measured:
                raise DefinitionError("每种统计口径只能有一道题", f"only one {m} question", i, "measures")
            measured.add(m)
        readable = top_keys + siblings if in_group else top_keys
        for field in ("relevant", "constraint", "choice_filter", "calculation", "count"):
            if not n.get(field):
                continue
            try:
                refs = logic.references(logic.parse(n[field]))
            except logic.RuleError as e:
                raise DefinitionError(f"规则无法解析：{e}", f"the rule does not parse: {e}", i, field)
            if "@" in refs and field != "choice_filter":
                raise DefinitionError(
                    "@code 和 @tag 只能用在选项筛选中", "@code and @tag belong in a choice filter only", i, field
                )
            if "." in refs and field in ("choice_filter", "calculation", "count"):
                raise DefinitionError("此规则不能引用本题", "this rule cannot refer to its own answer", i, field)
            for r in refs - {".", "@"}:
                if r not in readable:
                    raise DefinitionError(
                        f"规则引用了“{r}”，它不是前面的题目",
                        f"the rule refers to {r!r}, which is not an earlier question",
                        i,
                        field,
                    )
            if field == "relevant" and "." in refs:
                raise DefinitionError("显示条件不能引用本题", "a skip rule cannot refer to its own answer", i, field)
        keys.append(key)
        if kind == "repeat":
            group, siblings = key, []
            top_keys.append(key)
        elif in_group:
            siblings.append(key)
        else:
            top_keys.append(key)
        out.append(n)
    # a group still empty at the end of the list is one being built (its questions are added next, one a page)
    position = {q["key"]: i for i, q in enumerate(out)}
    for q in expand(out):  # a copy's rules are longer than the original's: they must still parse
        for field in ("relevant", "constraint", "choice_filter", "calculation"):
            try:
                if q.get(field):
                    logic.parse(q[field])
            except logic.RuleError as e:
                original = q.get("repeat", {}).get("key") or q["key"]
                raise DefinitionError(
                    f"重复组展开后规则过长：{e}",
                    f"the rule is too long once the group is expanded: {e}",
                    position[original],
                    field,
                ) from None
    return out


def open_group(questions: list[dict]) -> dict | None:
    """The repeat group a question placed after these would join (its header), or None."""
    header = None
    for q in questions:
        if q["type"] == "repeat":
            header = q
        elif header is not None and q.get("group") != header["key"]:
            header = None
    return header


def _rewrite(rule: str, names: dict[str, str]) -> str:
    """The rule with ``${k}`` / ``${k.row}`` renamed per `names` (other references and all text unchanged)."""
    if not rule:
        return rule
    parts = []
    for kind, text in logic.tokenize(rule):
        if kind == "ref":
            base, dot, row = text[2:-1].partition(".")
            text = "${" + names.get(base, base) + dot + row + "}"
        parts.append(text)
    return " ".join(parts)


def expand(questions: list[dict]) -> list[dict]:
    """The list as it is answered: each repeat group's header a calculated count, its questions copied per member.

    Copy i of question `k` in group `g` is keyed ``g__i__k``, shown while ``${g} >= i`` (and its own rule holds),
    its references to the group's questions renamed to copy i's, its text prefixed with the member's number. A
    list without groups comes back unchanged (the same objects).
    """
    if not any(q["type"] == "repeat" for q in questions):
        return questions
    out: list[dict] = []
    i = 0
    while i < len(questions):
        q = questions[i]
        i += 1
        if q["type"] != "repeat":
            out.append(q)
            continue
        g, top = q["key"], q["max"]
        members = []
        while i < len(questions) and questions[i].get("group") == g:
            members.append(questions[i])
            i += 1
        count = f"coalesce(number({q['count']}), 0)"
        out.append(
            {
                **{k: v for k, v in q.items() if k not in ("count", "max")},
                "type": "calculate",
                "calculation": f"if({count} > {top}, {top}, {count})",
                "repeat": {"max": top},
            }
        )
        for n in range(1, top + 1):
            names = {m["key"]: f"{g}{SEP}{n}{SEP}{m['key']}" for m in members}
            for m in members:
                copy = {**m, "key": names[m["key"]]}
                for field in ("relevant", "constraint", "choice_filter", "calculation"):
                    if copy.get(field):
                        copy[field] = _rewrite(copy[field], names)
                shown = f"${{{g}}} >= {n}"
                copy["relevant"] = f"{shown} and ({copy['relevant']})" if copy.get("relevant") else shown
                copy["label"] = f"{q['label']}（第{n}个）：{m['label']}"
                if m.get("label_en"):
                    copy["label_en"] = f"{q.get('label_en') or q['label']} (no. {n}): {m['label_en']}"
                copy["repeat"] = {"group": g, "index": n, "key": m["key"]}
                out.append(copy)
    return out


def visible(questions: list[dict], answers: dict) -> list[dict]:
    """The questions shown for these answers, in order (a hidden question's answer does not count later on;
    calculated questions are never shown, their values count)."""
    shown = set(logic.walk(questions, answers)["shown"])
    return [q for q in questions if q["key"] in shown]


def options_for(questions: list[dict], key: str, answers: dict) -> list[str] | None:
    """The option codes question `key` offers after these (earlier) answers; None when it has no choice filter."""
    q = next(q for q in questions if q["key"] == key)
    if not q.get("choice_filter"):
        return None
    earlier = questions[: questions.index(q)]
    return logic.choice_codes(q, logic.walk(earlier, answers)["seen"])


def answerable(questions: list[dict]) -> list[dict]:
    """The questions a person answers (all but the calculated ones), in order."""
    return [q for q in questions if q["type"] != "calculate"]


def _label(q: dict) -> str:
    return q["label"][:30]


def clean_answer(q: dict, raw: object) -> object:
    """Check one answer's type and range; return it normalised (None = not answered)."""
    key, kind = q["key"], q["type"]
    if raw is None or raw == "" or raw == [] or raw == {}:
        return None
    if kind == "calculate":
        raise AnswerError(key, f"“{_label(q)}”由系统计算，不需回答", f"{key}: is calculated, not answered")

    def bad(zh: str, en: str) -> AnswerError:
        return AnswerError(key, f"“{_label(q)}”：{zh}", f"{key}: {en}")

    codes = [c["code"] for c in q.get("choices", [])]
    if kind == "single":
        if raw not in codes:
            raise bad("请选择一个选项", "choose one of the options")
        return raw
    if kind == "multiple":
        if not isinstance(raw, list) or any(v not in codes for v in raw) or len(set(raw)) != len(raw):
            raise bad("所选选项不正确", "choose from the options")
        return [c for c in codes if c in raw]  # authoring order
    if kind == "rating":
        if raw == NA and q.get("na"):
            return NA
        if isinstance(raw, str) and raw.isdigit():
            raw = int(raw)
        if not _int(raw) or not 1 <= raw <= q["max"]:
            raise bad(f"请选择1到{q['max']}分", f"choose a rating from 1 to {q['max']}")
        return raw
    if kind == "number":
        if isinstance(raw, str):
            try:
                raw = float(raw) if re.fullmatch(r"-?[0-9]+\.[0-9]+", raw.strip()) else int(raw.strip())
            except ValueError:
                raise bad("请填写数字", "enter a number")
        if not _num(raw):
            raise bad("请填写数字", "enter a number")
        if q.get("min") is not None and raw < q["min"]:
            raise bad(f"不能小于{q['min']}", f"must be at least {q['min']}")
        if q.get("max") is not None and raw > q["max"]:
            raise bad(f"不能大于{q['max']}", f"must be at most {q['max']}")
        return raw
    if kind == "date":
        text = str(raw)
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                pass
        raise bad("日期格式应为“年-月-日”，如2025-06-01", "enter a date as YYYY-MM-DD")
    if kind == "text":
        if not isinstance(raw, str):
            raise bad("请填写文字", "enter text")
        if len(raw) > TEXT_MAX:
            raise bad(f"不能超过{TEXT_MAX}字", f"at most {TEXT_MAX} characters")
        return raw.strip() or None
    # matrix
    rows = [r["code"] for r in q["rows"]]
    if not isinstance(raw, dict) or any(r not in rows or v not in codes for r, v in raw.items()):
        raise bad("表格中的选择不正确", "choose one column in each row")
    return {r: raw[r] for r in rows if r in raw} or None


def check_answers(questions: list[dict], raw: dict) -> dict:
    """Validate a whole submission: types, then visibility, required and constraints, in authoring order.

    Returns the answers to keep (hidden questions dropped); raises the first AnswerError. The server calls this
    on every submit, whichever channel the answers came through.
    """
    if not isinstance(raw, dict):
        raise AnswerError("", "答案格式不正确", "answers must be an object")
    known = {q["key"] for q in questions}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise AnswerError(unknown[0], f"没有“{unknown[0]}”这道题", f"no question {unknown[0]!r}")
    cleaned = {q["key"]: clean_answer(q, raw.get(q["key"])) for q in questions}
    kept: dict = {}
    for q in questions:  # the same steps as logic.walk, with the answers checked on the way
        if q["relevant"] and not logic.evaluate(q["relevant"], kept):
            continue
        if q["type"] == "calculate":
            computed = logic.compute(q["calculation"], kept)
            if computed is not None:
                kept[q["key"]] = computed
            continue
        value = cleaned[q["key"]]
        if q.get("choice_filter"):
            codes = logic.choice_codes(q, kept)
            if not codes:
                continue
            if any(v not in codes for v in (value if isinstance(value, list) else [value] if value else [])):
                raise AnswerError(
                    q["key"],
                    f"“{_label(q)}”：所选选项不适用于前面的回答",
                    f"{q['key']}: that option does not apply given the earlier answers",
                )
        if value is None:
            if q["required"]:
                raise AnswerError(q["key"], f"请回答“{_label(q)}”", f"{q['key']}: this question needs an answer")
            continue
        if q["constraint"] and not logic.evaluate(q["constraint"], kept, value):
            msg = q["constraint_message"] or "答案不符合要求"
            msg_en = q["constraint_message_en"] or "the answer does not meet the question's rule"
            raise AnswerError(q["key"], f"“{_label(q)}”：{msg}", f"{q['key']}: {msg_en}")
        kept[q["key"]] = value
    return kept


def aware_of(questions: list[dict], answers: dict) -> bool | None:
    """The answer to the awareness question as true/false/None (not answered, or a choice counting neither)."""
    for q in questions:
        if q["measures"] == "awareness":
            code = answers.get(q["key"])
            for c in q["choices"]:
                if c["code"] == code:
                    return c.get("aware")
    return None


def satisfaction_of(questions: list[dict], answers: dict) -> int | None:
    """The satisfaction rating 1–5 (None for no rating, 不了解/不适用)."""
    for q in questions:
        if q["measures"] == "satisfaction":
            v = answers.get(q["key"])
            return v if _int(v) else None
    return None
