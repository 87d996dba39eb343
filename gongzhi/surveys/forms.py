"""Forms: answering a question (residents one per page, workers all on one page), and building a survey from a
page — questions, choices and rules from plain fields, never JSON."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from gongzhi.surveys import logic
from gongzhi.surveys import questions as qdef
from gongzhi.surveys.models import AGE_BANDS, Quota, Response, Survey


def tr(item: dict, field: str = "label") -> str:
    """A question's or option's text in the page's language (Chinese unless English is chosen and given)."""
    if (get_language() or "").startswith("en") and item.get(f"{field}_en"):
        return item[f"{field}_en"]
    return item.get(field, "")


def _choices(q: dict) -> list[tuple[str, str]]:
    return [(c["code"], tr(c)) for c in q["choices"]]


def rating_choices(q: dict) -> list[tuple[str, str]]:
    names = {5: _("非常满意"), 4: _("满意"), 3: _("一般"), 2: _("不满意"), 1: _("非常不满意")}
    out = [(str(n), f"{n} {names[n]}" if q["max"] == 5 else str(n)) for n in range(q["max"], 0, -1)]
    if q.get("na"):
        out.append((qdef.NA, str(_("不了解 / 不适用"))))
    return out


class AnswerForm(forms.Form):
    """One question's answer. `answer` (after is_valid) is the normalised value, None when not answered."""

    def __init__(self, question: dict, *args, codes: list[str] | None = None, **kwargs):
        """`codes`: the options a choice filter keeps for the earlier answers (None: all of them)."""
        super().__init__(*args, **kwargs)
        self.question = q = question
        label, kind = tr(q), q["type"]
        offered = [c for c in _choices(q) if codes is None or c[0] in codes] if kind in ("single", "multiple") else []
        if kind == "single":
            self.fields["answer"] = forms.ChoiceField(
                label=label, choices=offered, widget=forms.RadioSelect, required=False
            )
        elif kind == "multiple":
            self.fields["answer"] = forms.MultipleChoiceField(
                label=label, choices=offered, widget=forms.CheckboxSelectMultiple, required=False
            )
        elif kind == "rating":
            self.fields["answer"] = forms.ChoiceField(
                label=label, choices=rating_choices(q), widget=forms.RadioSelect, required=False
            )
        elif kind == "number":
            self.fields["answer"] = forms.CharField(
                label=label, required=False, max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"})
            )
        elif kind == "date":
            self.fields["answer"] = forms.CharField(
                label=label, required=False, max_length=10, widget=forms.DateInput(attrs={"type": "date"})
            )
        elif kind == "text":
            self.fields["answer"] = forms.CharField(
                label=label, required=False, max_length=qdef.TEXT_MAX, widget=forms.Textarea(attrs={"rows": 4})
            )
        else:  # matrix: one radio group per row
            for r in q["rows"]:
                self.fields[f"row_{r['code']}"] = forms.ChoiceField(
                    label=tr(r), choices=_choices(q), widget=forms.RadioSelect, required=False
                )
        self.answer = None

    @property
    def first_field(self):
        return next(iter(self))

    def raw(self) -> object:
        d = self.cleaned_data
        if self.question["type"] == "matrix":
            return {k[4:]: v for k, v in d.items() if k.startswith("row_") and v}
        return d.get("answer")

    def clean(self):
        super().clean()
        if self.errors:
            return self.cleaned_data
        try:
            self.answer = qdef.clean_answer(self.question, self.raw())
        except qdef.AnswerError as e:
            self.add_error(self.first_field.name, f"{e.zh}" if not _en() else e.en)
        return self.cleaned_data

    def check_rules(self, earlier: dict) -> bool:
        """Required and constraint for this question given the earlier answers; adds the error. True if fine."""
        q = self.question
        if self.answer is None:
            if q["required"]:
                self.add_error(self.first_field.name, _("请回答这道题"))
                return False
            return True
        if q["constraint"] and not logic.evaluate(q["constraint"], earlier, self.answer):
            msg = tr(q, "constraint_message") or str(_("答案不符合要求"))
            self.add_error(self.first_field.name, msg)
            return False
        return True


def _en() -> bool:
    return (get_language() or "").startswith("en")


def initial_for(q: dict, value: object) -> dict:
    if value is None:
        return {}
    if q["type"] == "matrix":
        return {f"row_{k}": v for k, v in value.items()}
    return {"answer": value if not isinstance(value, int | float) or isinstance(value, bool) else str(value)}


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("短信验证码"), max_length=6, min_length=6, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )


class EntryForm(forms.Form):
    """The worker's part of a staff-entered response: channel, the resident acted for (the hotline caller, the
    resident who filled in the paper), and for paper its number and scan."""

    channel = forms.ChoiceField(
        label=_("渠道"),
        choices=[(c.value, c.label) for c in (Response.Channel.DOOR, Response.Channel.HOTLINE, Response.Channel.PAPER)],
        widget=forms.RadioSelect,
    )
    caller = forms.TypedChoiceField(
        label=_("代其填写的居民（热线来电人 / 纸质问卷填写人）"), required=False, coerce=int, empty_value=None
    )
    paper_number = forms.CharField(
        label=_("纸质问卷编号"),
        required=False,
        max_length=30,
        help_text=_("问卷右上角的编号；同一编号只能录入一次。"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    scan = forms.FileField(label=_("纸质问卷扫描件（图片或PDF）"), required=False)

    def __init__(self, *args, residents=(), anonymous: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.anonymous = anonymous
        self.fields["caller"].choices = [("", "—"), *residents]  # (person id, masked name)
        if anonymous:  # an anonymous survey keeps no link to a person: the caller is checked, then not kept
            self.fields["paper_number"].help_text = _(
                "问卷右上角的编号；同一编号只能录入一次。匿名问卷：发放时请勿登记哪户拿了哪个编号。"
            )

    def clean(self):
        d = super().clean()
        channel = d.get("channel")
        if channel == Response.Channel.HOTLINE and not d.get("caller"):
            self.add_error("caller", _("热线代录须选择来电居民"))
        if channel == Response.Channel.PAPER:
            if not d.get("scan"):
                self.add_error("scan", _("纸质问卷须上传扫描件"))
            if not (d.get("paper_number") or "").strip():
                self.add_error("paper_number", _("请填写纸质问卷编号"))
            if not self.anonymous and not d.get("caller"):
                self.add_error("caller", _("纸质问卷须选择填写问卷的居民"))
        elif (d.get("paper_number") or "").strip():
            self.add_error("paper_number", _("只有纸质问卷有编号"))
        return d


# ------------------------------------------------------------------------------------------------ builder
class SurveyForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=200)
    intro = forms.CharField(label=_("说明（答题前显示）"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    unit_set = forms.ModelChoiceField(label=_("调查范围（住户集合）"), queryset=None)
    opens_on = forms.DateField(label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    closes_on = forms.DateField(label=_("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))
    anonymous = forms.BooleanField(label=_("匿名问卷（不保留回答与住户的对应关系）"), required=False)
    respondents = forms.ChoiceField(
        label=_("答卷对象"),
        choices=Survey.Respondents.choices,
        initial=Survey.Respondents.HOUSEHOLD,
        required=False,  # not sent: households, as before the choice existed
        widget=forms.RadioSelect,
        help_text=_("企业和单位：范围所在区域内登记的企业与单位（如向企业征集岗位需求）。"),
    )
    min_age = forms.IntegerField(
        label=_("每位居民一份时：最低年龄"), required=False, min_value=0, max_value=120, initial=18
    )
    quota_percent = forms.IntegerField(label=_("每栋楼最低样本比例(%)"), required=False, min_value=0, max_value=100)
    project_ref = forms.CharField(label=_("所属项目（如 deliberation.matter:12）"), required=False, max_length=100)

    def __init__(self, *args, unit_sets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit_set"].queryset = unit_sets

    def clean(self):
        d = super().clean()
        if d.get("opens_on") and d.get("closes_on") and d["closes_on"] < d["opens_on"]:
            self.add_error("closes_on", _("结束日期早于开始日期"))
        return d


TYPE_CHOICES = [
    ("single", _("单选题")),
    ("multiple", _("多选题")),
    ("rating", _("评分题")),
    ("number", _("数字")),
    ("date", _("日期")),
    ("text", _("文字")),
    ("matrix", _("表格（矩阵）")),
    ("calculate", _("计算值（由前面的回答算出，如总分；不显示给答题人）")),
    ("repeat", _("重复组（下面几道题按人数重复问，如每位家庭成员各答一次）")),
]
FILTER_MODES = [
    ("", _("不筛选")),
    ("tag", _("只列出分组等于该题回答的选项")),
    ("chosen", _("只列出在该题中选过的选项")),
]
OPS = [
    ("", _("总是显示")),
    ("is", _("选了 / 等于")),
    ("is_not", _("没选 / 不等于")),
    ("at_least", _("不小于")),
    ("at_most", _("不大于")),
    ("answered", _("已回答")),
]


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in (text or "").splitlines() if ln.strip()]


def _split_tag(line: str) -> tuple[str, str]:
    """ "一单元 | b1" → ("一单元", "b1"): an option's text and its group (tag) for choice filters."""
    if "|" not in line:
        return line, ""
    label, tag = line.rsplit("|", 1)
    return label.strip(), tag.strip()


def _quote(value: str) -> str:
    return "'" + value.replace("'", "") + "'"


class QuestionForm(forms.Form):
    """One question from plain fields. Choices: one per line; for an awareness question, the choices that count
    as aware and as not aware in two boxes. Skip rule from a question, a comparison and a value (or, for those
    who know it, a rule in the rule language)."""

    type = forms.ChoiceField(label=_("题型"), choices=TYPE_CHOICES)
    label = forms.CharField(label=_("题目"), max_length=300)
    label_en = forms.CharField(label=_("题目（英文）"), max_length=300, required=False)
    help = forms.CharField(label=_("提示"), max_length=300, required=False)
    required = forms.BooleanField(label=_("必答"), required=False)
    measures = forms.ChoiceField(
        label=_("用于统计"),
        choices=[
            ("", _("不用于三率")),
            ("awareness", _("知晓率（单选题）")),
            ("satisfaction", _("满意率（1–5分评分）")),
        ],
        required=False,
    )
    choices = forms.CharField(
        label=_("选项（每行一个）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("可在选项后加“ | 分组”，供后面的题按分组筛选，如“1单元 | b1”。"),
    )
    aware_choices = forms.CharField(
        label=_("算作“知晓”的选项（每行一个）"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    unaware_choices = forms.CharField(
        label=_("算作“不知晓”的选项（每行一个）"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    rows = forms.CharField(label=_("表格的行（每行一个）"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    minimum = forms.DecimalField(label=_("最小值"), required=False)
    maximum = forms.DecimalField(label=_("最大值 / 评分最高分"), required=False)
    na = forms.BooleanField(label=_("评分题提供“不了解/不适用”"), required=False, initial=True)
    max_selected = forms.IntegerField(label=_("多选题最多选几项"), required=False, min_value=1)
    when_question = forms.ChoiceField(label=_("仅在此题的回答……时显示"), required=False)
    when_op = forms.ChoiceField(label=_("条件"), choices=OPS, required=False)
    when_value = forms.CharField(label=_("值（选项文字或数字）"), required=False, max_length=100)
    calculation = forms.CharField(
        label=_("计算公式（计算值）"),
        required=False,
        max_length=logic.MAX_LENGTH,
        help_text=_("如 ${q1} + ${q2}；未回答的题可写 coalesce(number(${q1}), 0)。"),
    )
    filter_question = forms.ChoiceField(label=_("按前面哪道题筛选选项"), required=False)
    filter_mode = forms.ChoiceField(label=_("筛选方式"), choices=FILTER_MODES, required=False)
    choice_filter = forms.CharField(label=_("高级：选项筛选规则"), required=False, max_length=logic.MAX_LENGTH)
    relevant = forms.CharField(label=_("高级：显示条件规则"), required=False, max_length=logic.MAX_LENGTH)
    constraint = forms.CharField(label=_("高级：答案校验规则"), required=False, max_length=logic.MAX_LENGTH)
    constraint_message = forms.CharField(label=_("校验不通过时的提示"), required=False, max_length=200)
    count_question = forms.ChoiceField(label=_("重复组：重复次数取自哪道题的回答"), required=False)
    count = forms.CharField(
        label=_("高级：重复次数规则"), required=False, max_length=qdef.COUNT_MAX_LENGTH, help_text=_("如 ${q2} - 1")
    )
    repeat_max = forms.IntegerField(
        label=_("重复组：最多重复几次"), required=False, min_value=1, max_value=qdef.REPEAT_MAX, initial=10
    )
    in_group = forms.BooleanField(required=False)

    def __init__(self, *args, earlier: list[dict] = (), group: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.earlier = list(earlier)
        self.group = group  # the repeat group this question may join (the one open at its place), or None
        if group is None:
            del self.fields["in_group"]
        else:
            self.fields["in_group"].label = _("放在重复组“%(group)s”内（每位成员各答一次）") % {"group": tr(group)}
        self.fields["count_question"].choices = [("", "—")] + [
            (q["key"], q["label"][:40]) for q in self.earlier if q["type"] in ("number", "calculate")
        ]
        self.fields["when_question"].choices = [("", "—")] + [(q["key"], q["label"][:40]) for q in self.earlier]
        self.fields["filter_question"].choices = [("", "—")] + [
            (q["key"], q["label"][:40]) for q in self.earlier if q["type"] in ("single", "multiple", "calculate")
        ]

    @staticmethod
    def initial_from(q: dict, earlier: list[dict]) -> dict:
        init = {k: q.get(k, "") for k in ("type", "label", "label_en", "help", "required", "measures")}
        init.update(relevant=q.get("relevant", ""), constraint=q.get("constraint", ""))
        init.update(calculation=q.get("calculation", ""), choice_filter=q.get("choice_filter", ""))
        init["constraint_message"] = q.get("constraint_message", "")
        ch = q.get("choices", [])

        def line(c: dict) -> str:
            return f"{c['label']} | {c['tag']}" if c.get("tag") else c["label"]

        if q.get("measures") == "awareness":
            init["aware_choices"] = "\n".join(line(c) for c in ch if c.get("aware") is True)
            init["unaware_choices"] = "\n".join(line(c) for c in ch if c.get("aware") is False)
            init["choices"] = "\n".join(line(c) for c in ch if c.get("aware") is None)
        else:
            init["choices"] = "\n".join(line(c) for c in ch)
        init["rows"] = "\n".join(r["label"] for r in q.get("rows", []))
        init["minimum"], init["maximum"], init["na"] = q.get("min"), q.get("max"), q.get("na", True)
        if q["type"] == "repeat":
            init["minimum"] = init["maximum"] = None
            init["repeat_max"], init["count"] = q.get("max"), q.get("count", "")
            simple = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", q.get("count", ""))
            if simple:
                init["count_question"], init["count"] = simple[1], ""
        init["in_group"] = bool(q.get("group"))
        return init

    def _when_rule(self, d: dict) -> str:
        key, op, value = d.get("when_question"), d.get("when_op"), (d.get("when_value") or "").strip()
        if not key or not op:
            return ""
        q = next(q for q in self.earlier if q["key"] == key)
        if op == "answered":
            return f"answered(${{{key}}})"
        if op in ("at_least", "at_most"):
            if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
                self.add_error("when_value", _("请填写数字"))
                return ""
            return f"${{{key}}} {'>=' if op == 'at_least' else '<='} {value}"
        code = value
        if q.get("choices"):
            by_label = {c["label"]: c["code"] for c in q["choices"]} | {c["code"]: c["code"] for c in q["choices"]}
            if value not in by_label:
                self.add_error("when_value", _("请填写该题的一个选项"))
                return ""
            code = by_label[value]
        elif q["type"] == "rating" and value.isdigit():
            test = f"${{{key}}} = {value}"
            return test if op == "is" else f"not ({test})"
        if q["type"] == "multiple":
            test = f"selected(${{{key}}}, {_quote(code)})"
        else:
            test = f"${{{key}}} = {_quote(code)}"
        return test if op == "is" else f"not ({test})"

    def _filter_rule(self, d: dict) -> str:
        key, mode = d.get("filter_question"), d.get("filter_mode")
        if not key or not mode:
            return ""
        return f"@tag = ${{{key}}}" if mode == "tag" else f"selected(${{{key}}}, @code)"

    def question(self, key: str, old: dict | None = None) -> dict:
        """The question as data (validated later with the whole list by validate_definition)."""
        d = self.cleaned_data
        q: dict = {
            "key": key,
            "type": d["type"],
            "label": d["label"],
            "label_en": d.get("label_en", ""),
            "help": d.get("help", ""),
            "required": d.get("required", False),
            "measures": d.get("measures") or "",
        }
        old_codes = {c["label"]: c["code"] for c in (old or {}).get("choices", [])}

        def options(labels: list[str], aware=None, start: int = 0) -> list[dict]:
            out = []
            for i, text in enumerate(labels):
                lab, tag = _split_tag(text)
                o = {"code": old_codes.get(lab) or f"c{start + i + 1}", "label": lab}
                if tag:
                    o["tag"] = tag
                if q["measures"] == "awareness":
                    o["aware"] = aware
                out.append(o)
            return out

        if d["type"] in ("single", "multiple", "matrix"):
            if q["measures"] == "awareness":
                yes, no, other = _lines(d.get("aware_choices")), _lines(d.get("unaware_choices")), _lines(d["choices"])
                q["choices"] = (
                    options(yes, True) + options(no, False, len(yes)) + options(other, None, len(yes) + len(no))
                )
            else:
                q["choices"] = options(_lines(d["choices"]))
            used = set()
            for o in q["choices"]:  # labels repeated across boxes would give one code twice
                while o["code"] in used:
                    o["code"] += "x"
                used.add(o["code"])
        if d["type"] == "matrix":
            q["rows"] = [{"code": f"r{i + 1}", "label": lab} for i, lab in enumerate(_lines(d.get("rows")))]
        if d["type"] == "rating":
            q["max"] = int(d["maximum"]) if d.get("maximum") is not None else 5
            q["na"] = d.get("na", False)
        if d["type"] == "number":
            for name, field in (("min", "minimum"), ("max", "maximum")):
                v = d.get(field)
                q[name] = None if v is None else (int(v) if v == int(v) else float(v))
        rule = (d.get("relevant") or "").strip() or self._when_rule(d)
        q["relevant"] = rule
        if d["type"] == "repeat":
            count = (d.get("count") or "").strip()
            if not count and d.get("count_question"):
                count = f"${{{d['count_question']}}}"
            if not count:
                self.add_error("count_question", _("请选择重复次数取自哪道题"))
            q.update(count=count, max=d.get("repeat_max") or 10, required=False)
        if self.group is not None and d.get("in_group"):
            q["group"] = self.group["key"]
        if d["type"] == "calculate":
            q["calculation"] = (d.get("calculation") or "").strip()
            if not q["calculation"]:
                self.add_error("calculation", _("请填写计算公式"))
            q["required"] = False
        if d["type"] in ("single", "multiple"):
            q["choice_filter"] = (d.get("choice_filter") or "").strip() or self._filter_rule(d)
        constraint = (d.get("constraint") or "").strip()
        if not constraint and d["type"] == "multiple" and d.get("max_selected"):
            constraint = f"count(.) <= {d['max_selected']}"
            q["constraint_message"] = d.get("constraint_message") or f"最多选{d['max_selected']}项"
        else:
            q["constraint_message"] = d.get("constraint_message", "")
        q["constraint"] = constraint
        return q


class PublishForm(forms.Form):
    published = forms.BooleanField(label=_("公开结果"), required=False)
    keys = forms.MultipleChoiceField(label=_("公开哪些题的结果"), required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keys"].choices = [
            (q["key"], q["label"]) for q in questions if q["type"] not in ("text", "repeat") and not q.get("group")
        ]


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("审核结果"),
        choices=[
            (Response.Review.APPROVED, Response.Review.APPROVED.label),
            (Response.Review.HAS_ISSUES, Response.Review.HAS_ISSUES.label),
            (Response.Review.REJECTED, Response.Review.REJECTED.label),
        ],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("意见（退回或标记问题时必填）"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ExportForm(forms.Form):
    since = forms.DateField(label=_("自"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    node = forms.TypedChoiceField(label=_("区域"), required=False, coerce=int, empty_value=None)


class RateSettingsForm(forms.Form):
    target_percent = forms.DecimalField(label=_("目标值(%)"), min_value=0, max_value=100, decimal_places=2)
    satisfied_from = forms.TypedChoiceField(
        label=_("“满意”的最低评分"),
        coerce=int,
        choices=[
            (5, _("5分（只算非常满意；服务评价只算“满意”）")),
            (4, _("4分及以上（非常满意、满意）")),
            (3, _("3分及以上（含基本满意/一般）")),
        ],
    )


class QuotaForm(forms.Form):
    """A new quota: what it caps (a building, an age band of household heads, or one option of a question) and
    the most responses it takes."""

    kind = forms.ChoiceField(label=_("配额类型"), choices=Quota.Kind.choices, widget=forms.RadioSelect)
    building = forms.TypedChoiceField(label=_("楼栋"), required=False, coerce=int, empty_value=None)
    age_band = forms.ChoiceField(label=_("户主年龄段"), required=False)
    choice = forms.ChoiceField(label=_("题目与选项"), required=False)
    maximum = forms.IntegerField(label=_("最多份数"), min_value=1, max_value=100000)

    def __init__(self, *args, buildings=(), questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].choices = [("", "—"), *[(b.pk, b.name) for b in buildings]]
        self.fields["age_band"].choices = [("", "—"), *[(code or "none", label) for code, label in AGE_BANDS]]
        self.fields["choice"].choices = [("", "—")] + [
            (f"{q['key']}:{c['code']}", f"{tr(q)[:30]}：{tr(c)[:30]}")
            for q in questions
            if q["type"] in ("single", "multiple") and not q.get("group")
            for c in q["choices"]
        ]

    def clean(self):
        d = super().clean()
        kind = d.get("kind")
        if kind == Quota.Kind.BUILDING and not d.get("building"):
            self.add_error("building", _("请选择楼栋"))
        if kind == Quota.Kind.AGE_BAND and not d.get("age_band"):
            self.add_error("age_band", _("请选择年龄段"))
        if kind == Quota.Kind.CHOICE and not d.get("choice"):
            self.add_error("choice", _("请选择题目与选项"))
        return d


class QuotaMaximumForm(forms.Form):
    maximum = forms.IntegerField(label=_("最多份数"), min_value=1, max_value=100000)
