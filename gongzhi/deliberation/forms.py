from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.deliberation.models import AccountLine, Attendance, Channel, Opinion, Report


class MatterForm(forms.Form):
    title = forms.CharField(label=_("议题名称"), max_length=200)
    summary = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    unit_set = forms.TypedChoiceField(label=_("涉及范围（房屋集合）"), coerce=int)

    def __init__(self, *args, unit_sets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit_set"].choices = [(u.pk, f"{u.name}（{u.scope.name}）") for u in unit_sets]


class OpinionKindForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("您要提的是需求还是意见建议？"), choices=Opinion.Kind.choices, widget=forms.RadioSelect
    )


class OpinionTextForm(forms.Form):
    text = forms.CharField(
        label=_("请写下您的需求或意见"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("用几句话说清楚即可，例如：希望加装电梯，方便老人上下楼。"),
    )


class OperatorOpinionForm(forms.Form):
    person = forms.TypedChoiceField(label=_("代为填报的居民"), coerce=int)
    channel = forms.ChoiceField(label=_("渠道"), choices=[c for c in Channel.choices if c[0] != Channel.ONLINE])
    kind = forms.ChoiceField(label=_("类型"), choices=Opinion.Kind.choices)
    text = forms.CharField(label=_("需求或意见"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [(p.pk, str(p)) for p in people]


class ReachForm(forms.Form):
    channel = forms.ChoiceField(label=_("渠道"), choices=[c for c in Channel.choices if c[0] != Channel.ONLINE])
    note = forms.CharField(label=_("备注（如：已入户，无意见）"), max_length=200, required=False)


class ObjectionForm(forms.Form):
    reasons = forms.CharField(
        label=_("您对这项决议有什么异议？请说明理由"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


class ProposalForm(forms.Form):
    text = forms.CharField(label=_("方案内容"), widget=forms.Textarea(attrs={"rows": 8}))
    note = forms.CharField(label=_("修改说明"), max_length=300, required=False)


class MeetingForm(forms.Form):
    body = forms.ChoiceField(label=_("会议主体"))
    title = forms.CharField(label=_("会议名称"), max_length=200)
    held_on = forms.DateField(label=_("会议日期"), widget=forms.DateInput(attrs={"type": "date"}))
    place = forms.CharField(label=_("地点"), max_length=200, required=False)
    agenda = forms.CharField(label=_("议程"), widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, bodies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].choices = list(bodies)


class MinutesForm(forms.Form):
    minutes = forms.CharField(label=_("会议纪要"), widget=forms.Textarea(attrs={"rows": 8}))
    files = forms.FileField(label=_("附件（签到表、照片、PDF）"), required=False)


class AttendanceForm(forms.Form):
    def __init__(self, *args, rows=(), **kwargs):
        super().__init__(*args, **kwargs)
        for row in rows:
            self.fields[f"p{row.person_id}"] = forms.ChoiceField(
                label=str(row.person), choices=Attendance.Status.choices, required=False, initial=row.status
            )


class ResolutionForm(forms.Form):
    meeting = forms.TypedChoiceField(label=_("居民大会"), coerce=int)
    text = forms.CharField(label=_("决议内容"), widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, meetings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting"].choices = [(m.pk, f"{m.title}（{m.held_on}）") for m in meetings]


class LinkVoteForm(forms.Form):
    vote = forms.IntegerField(label=_("表决编号"), min_value=1)


class ReportForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=Report.Kind.choices)
    text = forms.CharField(label=_("内容"), widget=forms.Textarea(attrs={"rows": 4}))
    percent = forms.IntegerField(label=_("完成比例（%）"), min_value=0, max_value=100, required=False)
    files = forms.FileField(label=_("附件"), required=False)


class AccountForm(forms.Form):
    direction = forms.ChoiceField(label=_("收支"), choices=AccountLine.Direction.choices)
    item = forms.CharField(label=_("项目"), max_length=200)
    amount = forms.DecimalField(label=_("金额（元）"), max_digits=14, decimal_places=2, min_value=0)
    source = forms.CharField(label=_("来源/去向"), max_length=100, required=False)
    on = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("答复意见"), widget=forms.Textarea(attrs={"rows": 3}))
    dismiss = forms.BooleanField(label=_("不予受理（如：非本议题范围住户，或未说明理由）"), required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("理由"), widget=forms.Textarea(attrs={"rows": 3}))
    to_stage = forms.ChoiceField(label=_("退回到"), required=False)

    def __init__(self, *args, stages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].choices = list(stages)


class AdvanceForm(forms.Form):
    note = forms.CharField(label=_("说明（可选）"), max_length=200, required=False)
