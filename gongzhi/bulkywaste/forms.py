"""Forms of the bulky-waste pages. Labels and messages in Chinese (the source language), translated via gettext.

The resident's flow asks one question per page; the staff form (hotline, property manager, urgent) puts the
whole booking on one dense, keyboard-friendly page.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from gongzhi.bulkywaste.inputs import (
    BookingError,
    BookingErrors,
    ItemSpec,
    check_contact,
    item_problems,
    window_times,
)
from gongzhi.bulkywaste.limits import limits
from gongzhi.bulkywaste.models import CATEGORY_CHOICES, CatalogueEntry, Window
from gongzhi.core.maps import PointFields

WEEKDAYS = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]
MEASURE = {
    "max_digits": 8,
    "decimal_places": 3,
    "min_value": Decimal(0),
    "required": False,
    "widget": forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
}
COUNT = {"inputmode": "numeric", "pattern": "[0-9]*"}
PHONE = {"type": "tel", "inputmode": "tel", "autocomplete": "tel"}
NAME = {"autocomplete": "name"}


def problems(e: BookingError) -> list[BookingError]:
    return e.errors if isinstance(e, BookingErrors) else [e]


def add_problems(form: forms.Form, e: BookingError, fields: dict[str, str] | None = None) -> None:
    """Put every problem of `e` on the form, on the field it names (`fields` maps an action's field name to the
    form's), or on the form as a whole; the page's error summary then lists them all, each linking to its field."""
    for p in problems(e):
        name = (fields or {}).get(p.field or "", p.field)
        shown = name in form.fields and not form.fields[name].widget.is_hidden  # a picked point: on the form
        form.add_error(name if shown else None, p.shown)


def day_label(d: date) -> str:
    return f"{d:%Y-%m-%d} {WEEKDAYS[d.weekday()]}"


class RatingForm(forms.Form):
    score = forms.ChoiceField(
        label=_("您对本次上门收运服务的评分"),
        choices=[
            ("5", _("5 非常满意")),
            ("4", _("4 满意")),
            ("3", _("3 一般")),
            ("2", _("2 不满意")),
            ("1", _("1 非常不满意")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择评分")},
    )
    comment = forms.CharField(
        label=_("意见和建议（选填）"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


# ------------------------------------------------------------------------------------------- resident flow


class CatalogueItemForm(forms.Form):
    entry = forms.ModelChoiceField(
        label=_("物品"),
        queryset=CatalogueEntry.objects.filter(active=True),
        empty_label=_("请选择"),
        error_messages={"required": _("请选择物品"), "invalid_choice": _("请选择物品")},
    )
    quantity = forms.IntegerField(
        label=_("数量"),
        min_value=1,
        initial=1,
        error_messages={"required": _("请填写数量")},
        widget=forms.NumberInput(attrs=COUNT),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quantity"].max_value = limits().quantity
        self.fields["quantity"].validators.append(MaxValueValidator(limits().quantity))


class OtherItemForm(forms.Form):
    description = forms.CharField(label=_("物品名称"), max_length=100, error_messages={"required": _("请写明物品名称")})
    category = forms.ChoiceField(label=_("类别"), choices=[("", _("请选择"))] + CATEGORY_CHOICES)
    quantity = forms.IntegerField(label=_("数量"), min_value=1, initial=1, widget=forms.NumberInput(attrs=COUNT))
    weight_kg = forms.DecimalField(label=_("每件大约多重（千克）"), **MEASURE)
    volume_m3 = forms.DecimalField(label=_("每件大约多大（立方米）"), **MEASURE)
    length_m = forms.DecimalField(label=_("最长的一边（米）"), **MEASURE)
    integral = forms.BooleanField(label=_("物品完整、需要拆解后才能运走"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quantity"].validators.append(MaxValueValidator(limits().quantity))

    def add_problems(self, e: BookingError) -> None:
        """`items[0].weight_kg` → the weight field; the item as a whole → its name."""
        fields = {p.field: (p.field or "").rpartition(".")[2] or "description" for p in problems(e)}
        fields.update({p.field: "description" for p in problems(e) if p.field and "." not in p.field})
        add_problems(self, e, fields)

    def spec(self) -> ItemSpec:
        d = self.cleaned_data
        return ItemSpec(
            description=d["description"].strip(),
            category=d["category"],
            quantity=d["quantity"],
            weight_kg=d["weight_kg"],
            volume_m3=d["volume_m3"],
            length_m=d["length_m"],
            integral=d["integral"],
        )


class WhereForm(PointFields):
    place = forms.ChoiceField(label=_("在哪里上门收运？"), widget=forms.RadioSelect)
    address = forms.CharField(
        label=_("详细地址"), max_length=200, required=False, help_text=_("例如：福华街12号院3号楼东侧车棚")
    )
    node = forms.ChoiceField(label=_("所在社区"), required=False)

    field_order = ["place", "address", "node", "latitude", "longitude", "source"]

    def __init__(self, *args, units=(), nodes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["place"].choices = [(str(u.pk), label) for u, label in units] + [("other", _("其他地址"))]
        self.fields["node"].choices = [("", _("请选择"))] + [(str(n.pk), n.name) for n in nodes]

    def clean(self):
        d = super().clean()
        if d.get("place") == "other":
            for name, msg in (("address", _("请填写详细地址")), ("node", _("请选择所在社区"))):
                if not d.get(name):
                    self.add_error(name, msg)
        return d


class WhenForm(forms.Form):
    day = forms.ChoiceField(
        label=_("哪天上门？"), widget=forms.RadioSelect, error_messages={"required": _("请选择日期")}
    )
    window = forms.ChoiceField(
        label=_("什么时段方便？"),
        choices=[(Window.MORNING, Window.MORNING.label), (Window.AFTERNOON, Window.AFTERNOON.label)],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择时段")},
    )

    def __init__(self, *args, days=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["day"].choices = [(d.isoformat(), day_label(d)) for d in days]


class ContactForm(forms.Form):
    contact_name = forms.CharField(
        label=_("联系人"),
        max_length=50,
        error_messages={"required": _("请填写联系人")},
        widget=forms.TextInput(attrs=NAME),
    )
    contact_phone = forms.CharField(
        label=_("联系电话"),
        max_length=20,
        help_text=_("收运前一天我们会发短信提醒"),
        error_messages={"required": _("请填写联系电话")},
        widget=forms.TextInput(attrs=PHONE),
    )


class PhotosForm(forms.Form):
    photo = forms.FileField(
        label=_("物品照片（选填）"), required=False, help_text=_("最多5张，照片中的位置信息会被去除")
    )
    notes = forms.CharField(
        label=_("给收运人员的说明（选填）"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("例如：放在单元门口东侧"),
    )


class AmendForm(forms.Form):
    """Day, window, notes — and the items: how many of each catalogue item (0 takes it off), and whether each
    described item stays. (New described items are added through the hotline or the staff form.)"""

    day = forms.ChoiceField(label=_("上门日期"))
    window = forms.ChoiceField(
        label=_("时段"), choices=[(Window.MORNING, Window.MORNING.label), (Window.AFTERNOON, Window.AFTERNOON.label)]
    )
    notes = forms.CharField(label=_("给收运人员的说明"), max_length=300, required=False)

    def __init__(self, *args, days=(), entries=(), items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["day"].choices = [(d.isoformat(), day_label(d)) for d in days]
        self.entries = list(entries)
        self.items = list(items)
        booked = {i.entry_id: i.quantity for i in self.items if i.entry_id}
        for e in self.entries:
            self.fields[f"qty_{e.code}"] = forms.IntegerField(
                label=e.name,
                min_value=0,
                max_value=limits().quantity,
                required=False,
                initial=booked.get(e.pk, 0),
                widget=forms.NumberInput(attrs={**COUNT, "size": 3}),
            )
        for item in self.described:
            self.fields[f"keep_{item.pk}"] = forms.BooleanField(
                label=f"{item.description} × {item.quantity}", required=False, initial=True
            )

    @property
    def described(self) -> list:
        return [i for i in self.items if not i.entry_id]

    def item_fields(self):
        return [self[name] for name in self.fields if name.startswith(("qty_", "keep_"))]

    def plain_fields(self):
        return [self[name] for name in ("day", "window", "notes")]

    def specs(self) -> list[ItemSpec]:
        d = self.cleaned_data
        out = [ItemSpec(entry=e, quantity=d[f"qty_{e.code}"]) for e in self.entries if d.get(f"qty_{e.code}")]
        for i in self.described:
            if d.get(f"keep_{i.pk}"):
                out.append(
                    ItemSpec(
                        description=i.description,
                        category=i.category,
                        quantity=i.quantity,
                        weight_kg=i.weight_kg,
                        volume_m3=i.volume_m3,
                        length_m=i.length_m,
                    )
                )
        return out

    def items_changed(self) -> bool:
        """False unless the item fields were on the page that was sent (`items_shown`): an unticked box is
        simply absent from a form post, so only a post of this page can take a described item off."""
        if self.data.get("items_shown") != "1":
            return False
        d = self.cleaned_data
        booked = {i.entry_id: i.quantity for i in self.items if i.entry_id}
        if any((d.get(f"qty_{e.code}") or 0) != booked.get(e.pk, 0) for e in self.entries):
            return True
        return any(not d.get(f"keep_{i.pk}") for i in self.described)


# -------------------------------------------------------------------------------------- staff (dense) form

FREE_ROWS = 3


class StaffBookingForm(forms.Form):
    """One page: quantities of catalogue items, up to three described items, day, window, contact, notes."""

    day = forms.ChoiceField(label=_("希望日期"), required=False)
    window = forms.ChoiceField(label=_("时段"), choices=Window.choices, initial=Window.MORNING)
    window_start = forms.TimeField(
        label=_("指定时段开始"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    window_end = forms.TimeField(
        label=_("指定时段结束"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    contact_name = forms.CharField(label=_("联系人"), max_length=50, widget=forms.TextInput(attrs=NAME))
    contact_phone = forms.CharField(label=_("联系电话"), max_length=20, widget=forms.TextInput(attrs=PHONE))
    notes = forms.CharField(label=_("给收运人员的说明"), max_length=300, required=False)

    FREE_COLUMNS = (
        ("desc", "description", _("名称")),
        ("cat", "category", _("类别")),
        ("qty", "quantity", _("数量")),
        ("kg", "weight_kg", _("每件千克")),
        ("m3", "volume_m3", _("每件立方米")),
        ("len", "length_m", _("最长边米")),
    )

    def __init__(self, *args, entries=(), days=(), people=(), urgent=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.urgent = urgent
        self.entries = list(entries)
        most = limits().quantity
        for e in self.entries:
            self.fields[f"qty_{e.code}"] = forms.IntegerField(
                label=e.display_name,
                min_value=0,
                max_value=most,
                required=False,
                widget=forms.NumberInput(attrs={**COUNT, "size": 3}),
            )
        for n in range(FREE_ROWS):
            row = {"n": n + 1}
            self.fields[f"free_desc_{n}"] = forms.CharField(
                label=_("其他物品第%(n)s行：名称") % row, max_length=100, required=False
            )
            self.fields[f"free_cat_{n}"] = forms.ChoiceField(
                label=_("其他物品第%(n)s行：类别") % row,
                choices=[("", "—")] + CATEGORY_CHOICES,
                required=False,
                error_messages={"invalid_choice": _("请从列表中选择类别")},
            )
            self.fields[f"free_qty_{n}"] = forms.IntegerField(
                label=_("其他物品第%(n)s行：数量") % row,
                min_value=1,
                max_value=most,
                required=False,
                widget=forms.NumberInput(attrs={**COUNT, "size": 3}),
            )
            self.fields[f"free_kg_{n}"] = forms.DecimalField(label=_("其他物品第%(n)s行：每件千克") % row, **MEASURE)
            self.fields[f"free_m3_{n}"] = forms.DecimalField(label=_("其他物品第%(n)s行：每件立方米") % row, **MEASURE)
            self.fields[f"free_len_{n}"] = forms.DecimalField(label=_("其他物品第%(n)s行：最长边米") % row, **MEASURE)
        if people:
            self.fields["on_behalf_of"] = forms.ChoiceField(
                label=_("为哪位居民预约"), choices=[("", _("来电人不是登记居民"))] + list(people), required=False
            )
        if urgent:
            del self.fields["day"]
            self.fields["reason"] = forms.CharField(
                label=_("加急原因"), max_length=300, error_messages={"required": _("请填写加急原因")}
            )
        else:
            self.fields["day"].choices = [("", _("最早可约日期"))] + [(d.isoformat(), day_label(d)) for d in days]
        self.spec_fields: list[dict[str, str]] = []

    def clean(self):
        d = super().clean()
        for n in range(FREE_ROWS):
            filled = [k for k, _f, _l in self.FREE_COLUMNS[1:] if d.get(f"free_{k}_{n}") not in (None, "")]
            if filled and not d.get(f"free_desc_{n}"):
                self.add_error(f"free_desc_{n}", _("填写了这一行的其他内容，请写明物品名称，或清空这一行"))
        if not self.urgent and "window" in d:
            try:
                window_times(d["window"], d.get("window_start"), d.get("window_end"))
            except BookingError as e:
                self.add_error(e.field if e.field in self.fields else "window", e.shown)
        elif self.urgent and d.get("window_start") and d.get("window_end") and d["window_end"] <= d["window_start"]:
            self.add_error("window_end", _("结束时间应晚于开始时间"))
        # The items' and the contact's own rules too, so the page shows every problem at once.
        specs = self.specs()
        found = item_problems(specs) if specs else []
        if d.get("contact_name") and d.get("contact_phone"):
            try:
                check_contact(d["contact_name"], d["contact_phone"])
            except BookingError as e:
                found.append(e)
        if found:
            self.add_problems(BookingErrors(found))
        return d

    def item_rows(self):
        return [self[f"qty_{e.code}"] for e in self.entries]

    def free_rows(self):
        return [[self[f"free_{k}_{n}"] for k, _f, _l in self.FREE_COLUMNS] for n in range(FREE_ROWS)]

    def free_headings(self):
        return [label for _k, _f, label in self.FREE_COLUMNS]

    def specs(self) -> list[ItemSpec]:
        """The items asked for; `spec_fields[i]` says which form field each part of item i came from."""
        d = self.cleaned_data
        out, self.spec_fields = [], []
        for e in self.entries:
            if d.get(f"qty_{e.code}"):
                out.append(ItemSpec(entry=e, quantity=d[f"qty_{e.code}"]))
                self.spec_fields.append({"": f"qty_{e.code}", "quantity": f"qty_{e.code}"})
        for n in range(FREE_ROWS):
            if d.get(f"free_desc_{n}"):
                out.append(
                    ItemSpec(
                        description=d[f"free_desc_{n}"].strip(),
                        category=d.get(f"free_cat_{n}") or "",
                        quantity=d.get(f"free_qty_{n}") or 1,
                        weight_kg=d.get(f"free_kg_{n}"),
                        volume_m3=d.get(f"free_m3_{n}"),
                        length_m=d.get(f"free_len_{n}"),
                    )
                )
                fields = {f: f"free_{k}_{n}" for k, f, _l in self.FREE_COLUMNS}
                self.spec_fields.append({"": f"free_desc_{n}", **fields})
        return out

    def add_problems(self, e: BookingError) -> None:
        """Each problem on its field: `items[2].weight_kg` → the row and column it came from."""
        fields = {}
        for p in problems(e):
            head, _dot, part = (p.field or "").partition(".")
            if head.startswith("items[") and head.endswith("]"):
                i = int(head[6:-1])
                if i < len(self.spec_fields):
                    fields[p.field] = self.spec_fields[i].get(part, self.spec_fields[i][""])
        add_problems(self, e, fields)


class FreeAddressForm(PointFields):
    """An address that is not a registry unit (a shop, a street corner): its words and community, and a point
    picked on the map when one is configured."""

    address = forms.CharField(label=_("详细地址"), max_length=200)
    node = forms.ChoiceField(label=_("所在社区"))

    field_order = ["address", "node", "latitude", "longitude", "source"]

    def __init__(self, *args, nodes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["node"].choices = [("", _("请选择"))] + [(str(n.pk), n.name) for n in nodes]


class CompoundChoiceForm(forms.Form):
    compound = forms.ChoiceField(label=_("整院预约的楼院"))

    def __init__(self, *args, compounds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["compound"].choices = [(str(c.pk), c.name) for c in compounds]


# ---------------------------------------------------------------------------------------------- dispatch


class CrewItemForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("结果"),
        choices=[("collected", _("已收运")), ("not_found", _("未找到")), ("refused", _("拒收"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择结果")},
    )
    weight_kg = forms.DecimalField(
        label=_("重量（千克）"),
        max_digits=8,
        decimal_places=2,
        min_value=Decimal(0),
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )
    photo = forms.FileField(label=_("照片"), required=False)


class DumpingForm(PointFields):
    description = forms.CharField(
        label=_("看到了什么？"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("请描述看到的情况")},
        help_text=_("例如：3号楼西侧堆放旧沙发两个、床垫一个"),
    )
    address = forms.CharField(label=_("在哪里？"), max_length=200, required=False)
    node = forms.ChoiceField(label=_("所在社区"))
    photo = forms.FileField(label=_("照片（选填）"), required=False)
    reporter_phone = forms.CharField(
        label=_("联系电话（选填）"), max_length=20, required=False, widget=forms.TextInput(attrs=PHONE)
    )
    # Honeypot: off screen, out of the tab order and hidden from assistive technology (so never focusable inside
    # aria-hidden); a bot that fills every field is quietly ignored.
    website = forms.CharField(
        required=False,
        label=_("网址（请勿填写）"),
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    field_order = ["description", "address", "node", "latitude", "longitude", "source", "photo", "reporter_phone"]

    def __init__(self, *args, nodes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["node"].choices = [("", _("请选择"))] + [(str(n.pk), n.name) for n in nodes]


class ResolveForm(forms.Form):
    resolution = forms.CharField(label=_("处理结果"), max_length=500, error_messages={"required": _("请填写处理结果")})
