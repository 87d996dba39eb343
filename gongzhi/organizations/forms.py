"""Staff forms; each is handed to an action, whose ValidationErrors come back onto the form's fields."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gongzhi.core import pii
from gongzhi.organizations import kinds
from gongzhi.organizations.models import Membership, Organization, OrgKind
from gongzhi.registry.models import AreaLevel, AreaNode


def apply_errors(form: forms.Form, error: ValidationError) -> None:
    """Put an action's errors on the form: on the named field when the form has it, else at the top."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class NodeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: AreaNode) -> str:
        detail = _("%(name)s（%(detail)s）") % {"name": obj.name, "detail": obj.level.label}
        return f"{'　' * max(0, obj.depth - 2)}{detail}"


class OrgKindChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: OrgKind) -> str:
        return _("%(name)s（%(detail)s）") % {"name": obj.label, "detail": obj.get_category_display()}


class OrganizationForm(forms.Form):
    kind = OrgKindChoiceField(label=_("组织类型"), queryset=OrgKind.objects.exclude(code=kinds.PARTY_LIAISON))
    node = NodeChoiceField(label=_("所在区域"), queryset=AreaNode.objects.none())
    name = forms.CharField(label=_("组织名称"), max_length=150)
    parent = forms.ModelChoiceField(
        label=_("上级组织"),
        queryset=Organization.objects.none(),
        required=False,
        help_text=_("小区党支部的上级是社区大党委，楼院党小组的上级是小区党支部"),
    )
    project_ref = forms.CharField(label=_("关联项目"), max_length=100, required=False, help_text=_("临时党支部必填"))
    phone = forms.CharField(
        label=_("联系电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )
    founded = forms.DateField(label=_("成立日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, base: AreaNode, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = (
            AreaNode.objects.filter(path__startswith=base.path, level__depth__lte=_compound_depth())
            .select_related("level")
            .order_by("path")
        )
        self.fields["parent"].queryset = (
            Organization.objects.filter(dissolved__isnull=True)
            .filter(Q(node_id__in=base.ids_on_path) | Q(path__startswith=base.path))
            .order_by("path", "name")
        )

    def clean_phone(self):
        value = self.cleaned_data["phone"].strip()
        if not value:
            return ""
        try:
            return pii.normalize_phone(value)
        except pii.PiiError as e:
            raise forms.ValidationError(str(e)) from None


def _compound_depth() -> int:
    level = AreaLevel.objects.filter(is_compound=True).order_by("-depth").first()
    return level.depth if level else 99


class MemberForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=100)
    phone = forms.CharField(
        label=_("手机号"),
        max_length=20,
        required=False,
        help_text=_("已登记的居民按姓名和手机号匹配；未登记的将新建人员记录"),
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    )
    role = forms.ChoiceField(label=_("职务"), choices=Membership.Role.choices, initial=Membership.Role.MEMBER)
    is_party_member = forms.BooleanField(label=_("党员"), required=False)

    def clean_phone(self):
        value = self.cleaned_data["phone"].strip()
        if not value:
            return ""
        try:
            return pii.normalize_mobile(value)
        except pii.PiiError as e:
            raise forms.ValidationError(str(e)) from None


class BuildingForm(forms.Form):
    building = NodeChoiceField(label=_("楼栋"), queryset=AreaNode.objects.none())

    def __init__(self, *args, org: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = (
            AreaNode.objects.filter(path__startswith=org.path, level__code="building")
            .select_related("level")
            .order_by("path")
        )
