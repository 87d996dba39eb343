"""A small catalogue and helpers for the service desk's tests, browser tests and demo."""

from __future__ import annotations

from gongzhi.servicedesk import actions
from gongzhi.servicedesk.models import Category, Question

# code, name, name_en, group, limit, unit, response hours, body, questions
CATALOGUE = [
    ("stair_light", "楼道灯不亮", "Stairwell light out", "设施维修", 3, "workdays", 24, "社区居委会", [
        ("floor", "哪一层？", "Which floor?", "number", True, []),
    ]),
    ("drain_blocked", "下水道堵塞", "Blocked drain", "设施维修", 24, "hours", 4, "区市政服务中心", [
        ("overflow", "是否已经外溢？", "Is it overflowing?", "singlevaluelist", True,
         [{"key": "yes", "name": "已外溢"}, {"key": "no", "name": "未外溢"}]),
    ]),
    ("gas_water_power", "水电气暖故障", "Water, power, gas or heating fault", "公用事业", 24, "hours", 2, "供水供电供气单位", []),
    ("emergency", "紧急险情", "Emergency", "紧急", 2, "hours", 1, "社区应急小分队", []),
    ("elderly_help", "老人帮扶", "Help for an elderly resident", "为民服务", 7, "days", 24, "社区党员志愿者", [
        ("needs", "需要哪些帮助？", "What help is needed?", "multivaluelist", False,
         [{"key": "shopping", "name": "代购"}, {"key": "visit", "name": "探访"}, {"key": "repair", "name": "小修"}]),
    ]),
    ("bulky_dumping", "乱丢大件垃圾", "Dumped bulky waste", "环境卫生", 5, "workdays", 24, "街道城管科", []),
    ("complex", "复杂疑难诉求", "Complex request", "其他", 15, "days", 24, "街道办事处", []),
    # Filed by the renovation part for a resident's defect report (hooks.file_renovation_defect), not picked by hand.
    ("renovation_defect", "改造质量问题", "Renovation defect", "老旧小区改造", 5, "workdays", 24, "改造项目施工单位", []),
]  # fmt: skip
HANDED_OVER = frozenset({"renovation_defect"})  # categories another part files requests in


def catalogue(node, *, actor=None) -> dict[str, Category]:
    """The default catalogue on `node` (the district), through the actions; returns it by code."""
    out = {}
    for i, (code, name, name_en, group, limit, unit, resp, body, questions) in enumerate(CATALOGUE):
        cat = Category.objects.filter(code=code).first()
        if cat is None:
            cat = actions.save_category(
                Category(
                    code=code,
                    name=name,
                    name_en=name_en,
                    group=group,
                    node=node,
                    responsible_label=body,
                    limit_value=limit,
                    limit_unit=unit,
                    response_hours=resp,
                    order=i,
                ),
                actor=actor,
            )
            for j, (qcode, label, label_en, datatype, required, values) in enumerate(questions):
                actions.save_question(
                    Question(
                        category=cat,
                        code=qcode,
                        label=label,
                        label_en=label_en,
                        datatype=datatype,
                        required=required,
                        values=values,
                        order=j,
                    ),
                    actor=actor,
                )
        out[code] = cat
    return out
