"""A survey over the mini district's 油漆厂家属院 for tests: two buildings, a resident in every flat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from gongzhi.registry import actions as registry
from gongzhi.registry.models import AreaNode, Person, Unit, UnitSet
from gongzhi.surveys import actions
from gongzhi.surveys.models import Survey
from testkit.world import MiniDistrict, level

QUESTIONS = [
    {
        "key": "aware",
        "type": "single",
        "label": "您是否知道本院的改造项目？",
        "label_en": "Do you know about the renovation of this compound?",
        "required": True,
        "measures": "awareness",
        "choices": [
            {"code": "yes", "label": "知道", "label_en": "Yes", "aware": True},
            {"code": "no", "label": "不知道", "label_en": "No", "aware": False},
        ],
    },
    {
        "key": "satisfied",
        "type": "rating",
        "label": "您对改造效果满意吗？",
        "label_en": "How satisfied are you with the works?",
        "required": True,
        "relevant": "${aware} = 'yes'",
        "measures": "satisfaction",
        "max": 5,
        "na": True,
    },
    {
        "key": "items",
        "type": "multiple",
        "label": "您最关心哪些改造内容？",
        "label_en": "Which works matter most to you?",
        "choices": [
            {"code": "roof", "label": "屋面防水", "label_en": "Roof"},
            {"code": "pipes", "label": "管网改造", "label_en": "Pipes"},
            {"code": "lift", "label": "加装电梯", "label_en": "Lift"},
        ],
        "constraint": "count(.) <= 2",
        "constraint_message": "最多选两项",
        "constraint_message_en": "choose at most two",
    },
    {
        "key": "age",
        "type": "number",
        "label": "户主年龄",
        "label_en": "Age of the household head",
        "min": 18,
        "max": 120,
    },
    {"key": "moved", "type": "date", "label": "入住日期", "label_en": "Moved in on"},
    {
        "key": "grid",
        "type": "matrix",
        "label": "请为各项打分",
        "label_en": "Rate each item",
        "rows": [{"code": "clean", "label": "环境卫生"}, {"code": "safe", "label": "治安"}],
        "choices": [{"code": "good", "label": "好"}, {"code": "bad", "label": "差"}],
    },
    {"key": "note", "type": "text", "label": "其他意见", "label_en": "Anything else"},
]


@dataclass
class SurveyCompound:
    mini: MiniDistrict
    unit_set: UnitSet
    building2: AreaNode
    units: list[Unit]  # every flat with a resident, building 1 then building 2
    people: list[Person]  # one resident per flat, same order


def build(mini: MiniDistrict) -> SurveyCompound:
    """Building 1 (mini's 6 flats) and 1号楼's neighbour 2号楼 with 4 flats; one resident in each flat."""
    b2 = registry.create_area_node(actor=None, parent=mini.courtyard, level=level("building"), name="2号楼")
    extra = [registry.create_unit(actor=None, node=b2, number=f"10{i + 1}") for i in range(4)]
    units = list(mini.units) + extra
    people = []
    for i, u in enumerate(units):
        p = registry.create_person(actor=None, name=f"住户{i}", phone=f"1390000{i:04d}", home_path=u.path)
        registry.add_residence(actor=None, unit=u, person=p, relation="owner")
        people.append(p)
    registry.refresh_stats(mini.courtyard)
    unit_set = registry.create_unit_set(
        actor=None, name="油漆厂家属院", kind=UnitSet.Kind.COMPOUND, scope=mini.courtyard, nodes=[mini.courtyard]
    )
    return SurveyCompound(mini, unit_set, b2, units, people)


def make_survey(sc: SurveyCompound, *, open_it: bool = True, **kw) -> Survey:
    today = timezone.localdate()
    survey = actions.create_survey(
        actor=None,
        title=kw.pop("title", "改造后满意度调查"),
        unit_set=sc.unit_set,
        opens_on=kw.pop("opens_on", today - timedelta(days=1)),
        closes_on=kw.pop("closes_on", today + timedelta(days=30)),
        questions=kw.pop("questions", QUESTIONS),
        **kw,
    )
    if open_it:
        survey = actions.open_survey(survey, actor=None)
    return survey


def day(offset: int = 0) -> date:
    return timezone.localdate() + timedelta(days=offset)
