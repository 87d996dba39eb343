"""Forms of the renovation pages: they read input; the actions decide and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.renovation.models import (
    AcceptanceSign,
    CostBasis,
    Coverage,
    Defect,
    Funding,
    Inspection,
    MenuItem,
    Order,
    ShareBasis,
)
from gongzhi.voting.models import MATTER_CHOICES

YES_NO = [("yes", _("同意")), ("no", _("不同意"))]


class AgreeForm(forms.Form):
    """One question per page: does your household agree to this item?"""

    answer = forms.ChoiceField(label=_("您家是否同意这项改造？"), choices=YES_NO, widget=forms.RadioSelect)
    willing_to_pay = forms.BooleanField(label=_("同意按上面的金额出资"), required=False)


class ProxyOrderForm(forms.Form):
    unit = forms.TypedChoiceField(label=_("房屋"), coerce=int)
    person = forms.TypedChoiceField(label=_("代为点单的居民"), coerce=int)
    item = forms.TypedChoiceField(label=_("菜单项"), coerce=int)
    answer = forms.ChoiceField(label=_("意见"), choices=YES_NO, widget=forms.RadioSelect)
    willing_to_pay = forms.BooleanField(label=_("愿意出资"), required=False)
    channel = forms.ChoiceField(
        label=_("渠道"), choices=[(Order.Channel.DOOR, _("入户")), (Order.Channel.HOTLINE, _("热线"))]
    )

    def __init__(self, *args, units=(), people=(), items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", "—")] + list(units)
        self.fields["person"].choices = [("", "—")] + list(people)
        self.fields["item"].choices = [("", "—")] + list(items)


class ProgressForm(forms.Form):
    progress = forms.IntegerField(label=_("进度%"), min_value=0, max_value=100)
    note = forms.CharField(label=_("说明"), max_length=300, required=False)
    photo = forms.FileField(label=_("现场照片"), required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("进度表（Excel，与导出的列相同）"))
    apply = forms.BooleanField(label=_("检查无误后写入"), required=False)


class DefectForm(forms.Form):
    description = forms.CharField(label=_("问题描述"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    location = forms.TypedChoiceField(label=_("楼栋/单元"), coerce=int, required=False, empty_value=None)
    spot = forms.CharField(label=_("具体位置"), max_length=150, required=False)
    deadline = forms.DateField(label=_("整改期限"), widget=forms.DateInput(attrs={"type": "date"}))
    floor = forms.IntegerField(label=_("楼层"), required=False, min_value=-5, max_value=99)
    plan = forms.TypedChoiceField(
        label=_("平面图"),
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": _("请选择本项目的平面图")},
    )
    plan_x = forms.DecimalField(
        label=_("平面图位置：距左边（%）"), required=False, min_value=0, max_value=100, decimal_places=2
    )
    plan_y = forms.DecimalField(
        label=_("平面图位置：距上边（%）"), required=False, min_value=0, max_value=100, decimal_places=2
    )
    photo = forms.FileField(label=_("照片（整改前）"), required=False)
    person = forms.TypedChoiceField(label=_("代哪位居民报告"), coerce=int, required=False, empty_value=None)

    # Drawn by defect_form.html in its own place: the plan pictures with these beside them.
    PLAN_FIELDS = ("plan", "plan_x", "plan_y")

    def __init__(self, *args, locations=(), people=None, plans=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = [("", "—")] + list(locations)
        self.fields["plan"].choices = [("", "—")] + list(plans)
        if people is None:  # only those who enter defects for residents choose one
            del self.fields["person"]
        else:
            self.fields["person"].choices = [("", _("（不代报，以本人名义）"))] + list(people)

    def clean(self):
        data = super().clean()
        if (data.get("plan_x") is None) != (data.get("plan_y") is None):
            field = "plan_y" if data.get("plan_y") is None else "plan_x"
            self.add_error(field, _("平面图位置须同时填写距左边和距上边的百分比"))
        return data


class PlanForm(forms.Form):
    """A plan (平面图) of the project: a picture with a title, and which building and floor it shows."""

    title = forms.CharField(label=_("标题"), max_length=100)
    building = forms.TypedChoiceField(label=_("楼栋/单元"), coerce=int, required=False, empty_value=None)
    floor = forms.IntegerField(label=_("楼层（地下为负数）"), required=False, min_value=-5, max_value=99)
    image = forms.FileField(label=_("平面图图片（PNG 或 JPEG）"))

    def __init__(self, *args, buildings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].choices = [("", "—")] + list(buildings)
        self.fields["image"].widget.attrs["accept"] = "image/png,image/jpeg"


class TokenAnswerForm(forms.Form):
    name = forms.CharField(label=_("整改负责人"), max_length=100)
    note = forms.CharField(label=_("整改情况"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    photo = forms.FileField(label=_("照片（整改后）"), required=False)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("退回理由"), max_length=300)


class InspectionForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=Inspection.Kind.choices)
    checklist = forms.CharField(
        label=_("检查项（每行一项；不合格的行以“×”开头）"), widget=forms.Textarea(attrs={"rows": 5})
    )
    summary = forms.CharField(label=_("结论"), max_length=300, required=False)

    def checklist_rows(self) -> list[dict]:
        rows = []
        for line in self.cleaned_data["checklist"].splitlines():
            line = line.strip()
            if not line:
                continue
            failed = line.startswith(("×", "x ", "X "))
            rows.append({"item": line.lstrip("×xX ").strip(), "ok": not failed})
        return rows


ACCEPTANCE_CHECKLIST = (
    _("施工内容与设计、菜单一致"),
    _("质量和安全检查无遗留问题"),
    _("现场清理完毕，公共部位恢复使用"),
    _("施工资料、照片齐全"),
)


class SignForm(forms.Form):
    """验收签字: every line of the checklist is ticked one by one; an unticked line refuses the signature."""

    signer = forms.ChoiceField(label=_("签字方"), choices=AcceptanceSign.Signer.choices, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i, text in enumerate(ACCEPTANCE_CHECKLIST):
            self.fields[f"line_{i}"] = forms.BooleanField(label=text, required=False)

    def checklist_rows(self) -> list[dict]:
        return [
            {"item": str(text), "ok": bool(self.cleaned_data.get(f"line_{i}"))}
            for i, text in enumerate(ACCEPTANCE_CHECKLIST)
        ]


DEFECT_SOURCES = Defect.Source


class ProjectForm(forms.Form):
    name = forms.CharField(label=_("项目名称"), max_length=150)
    unit_set = forms.TypedChoiceField(label=_("改造范围（房屋集合）"), coerce=int)
    menu = forms.TypedMultipleChoiceField(
        label=_("提供给居民点单的菜单项"), coerce=int, widget=forms.CheckboxSelectMultiple, required=False
    )
    budget = forms.DecimalField(label=_("总预算（元）"), min_value=0, decimal_places=2, max_digits=14)

    def __init__(self, *args, unit_sets=(), items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit_set"].choices = [("", "—")] + list(unit_sets)
        self.fields["menu"].choices = list(items)


class PartiesForm(forms.Form):
    contractor = forms.TypedChoiceField(label=_("施工单位"), coerce=int, required=False, empty_value=None)
    supervisor = forms.TypedChoiceField(label=_("议事监督小组"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, contractors=(), groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contractor"].choices = [("", "—")] + list(contractors)
        self.fields["supervisor"].choices = [("", "—")] + list(groups)


class FundingForm(forms.Form):
    source = forms.ChoiceField(label=_("来源"), choices=[])
    amount = forms.DecimalField(label=_("金额（元）"), min_value=0, decimal_places=2, max_digits=14)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = Funding.Source.choices


class WorkItemForm(forms.Form):
    external_id = forms.CharField(label=_("外部编号"), max_length=50)
    name = forms.CharField(label=_("名称"), max_length=150)
    budget = forms.DecimalField(label=_("预算（元）"), min_value=0, decimal_places=2, max_digits=14)


class MilestoneForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=150)
    on = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    publication_date = forms.DateField(
        label=_("公开日期（此前居民看不到）"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    description = forms.CharField(
        label=_("说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class MenuItemForm(forms.Form):
    """A district's menu item: what it covers, what it costs, who pays, and the consent it needs."""

    category = forms.TypedChoiceField(label=_("类别"), coerce=int)
    code = forms.SlugField(label=_("编码"), max_length=50)
    name = forms.CharField(label=_("名称"), max_length=100)
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    coverage = forms.ChoiceField(label=_("改造范围"))
    unit_cost = forms.DecimalField(label=_("单价（元）"), min_value=0, decimal_places=2, max_digits=12)
    cost_basis = forms.ChoiceField(label=_("计价方式"))
    share_basis = forms.ChoiceField(label=_("居民分摊方式"))
    floor_coefficients = forms.CharField(
        label=_("楼层系数（如 3:0.7, 4:0.8；按楼层系数分摊时必填）"), required=False, max_length=300
    )
    pct_subsidy = forms.DecimalField(label=_("政府补助%"), min_value=0, max_value=100, decimal_places=2, initial=0)
    pct_residents = forms.DecimalField(label=_("居民出资%"), min_value=0, max_value=100, decimal_places=2, initial=0)
    pct_units = forms.DecimalField(label=_("产权/驻区单位%"), min_value=0, max_value=100, decimal_places=2, initial=0)
    pct_fund = forms.DecimalField(label=_("维修资金%"), min_value=0, max_value=100, decimal_places=2, initial=0)
    pct_public_income = forms.DecimalField(
        label=_("小区公共收益%"), min_value=0, max_value=100, decimal_places=2, initial=0
    )
    household_cap = forms.DecimalField(label=_("每户上限（元）"), min_value=0, decimal_places=2, required=False)
    consent = forms.ChoiceField(label=_("同意规则"))
    consent_numerator = forms.IntegerField(label=_("同意比例：分子"), min_value=1, initial=4)
    consent_denominator = forms.IntegerField(label=_("同意比例：分母"), min_value=1, initial=5)
    consent_inclusive = forms.BooleanField(label=_("含本数（“以上”）"), required=False, initial=True)
    matter = forms.ChoiceField(label=_("业主共同决定事项"), required=False)
    depends_on = forms.TypedMultipleChoiceField(
        label=_("须先实施"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, categories=(), items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = list(categories)
        self.fields["coverage"].choices = Coverage.choices
        self.fields["cost_basis"].choices = CostBasis.choices
        self.fields["share_basis"].choices = ShareBasis.choices
        self.fields["consent"].choices = MenuItem.Consent.choices
        self.fields["matter"].choices = [("", "—")] + list(MATTER_CHOICES)
        self.fields["depends_on"].choices = list(items)

    def clean_floor_coefficients(self) -> dict:
        raw = self.cleaned_data.get("floor_coefficients") or ""
        out = {}
        for part in raw.replace("，", ",").split(","):
            part = part.strip()
            if not part:
                continue
            floor, sep, value = part.replace("：", ":").partition(":")
            if not sep:
                raise forms.ValidationError(_("请按“楼层:系数”填写，如 3:0.7"))
            out[floor.strip()] = value.strip()
        return out
