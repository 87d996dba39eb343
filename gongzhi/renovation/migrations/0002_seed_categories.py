"""The national three classes of renovation content (国办发〔2020〕23号), as data with no district.

A district adds its own classes as rows with its district set (e.g. Chengdu's 安全类, "立查立改").
"""

from django.db import migrations

CATEGORIES = [
    (
        "basic",
        "基础类",
        "Basic",
        "满足居民安全需要和基本生活需求：市政配套基础设施改造提升，屋面、外墙、楼梯等公共部位维修。",
        "基于群众意愿，应改尽改",
        10,
    ),
    (
        "improvement",
        "完善类",
        "Improvement",
        "满足居民生活便利需要和改善型生活需求：环境及配套设施、建筑节能改造、有条件的楼栋加装电梯、停车、照明。",
        "尊重群众意愿，能改则改",
        20,
    ),
    (
        "enhancement",
        "提升类",
        "Enhancement",
        "丰富社区服务供给、提升居民生活品质：养老、托育、助餐、便民市场、快递末端综合服务站、智能感知设施。",
        "立足实际，积极推进",
        30,
    ),
]


def seed(apps, schema_editor):
    MenuCategory = apps.get_model("renovation", "MenuCategory")
    for code, name, name_en, description, pace, order in CATEGORIES:
        MenuCategory.objects.update_or_create(
            code=code,
            district=None,
            defaults={"name": name, "name_en": name_en, "description": description, "pace": pace, "order": order},
        )


class Migration(migrations.Migration):
    dependencies = [("renovation", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
