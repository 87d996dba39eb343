"""Seed the item catalogue from sizing.CATALOGUE (typical measures), and a free fee schedule.

Rows are keyed by the stable code; editing them afterwards (names, measures, prices) is the district's call.
The codes and measures are copied here, not imported at run time, so this migration means the same thing
whatever sizing.CATALOGUE later becomes.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

ROWS = [
    # code, name, name_en, category, kg, m3, m
    ("double_bed", "双人床", "double bed", "bed", "60", "1.8", "2.0"),
    ("single_bed", "单人床", "single bed", "bed", "35", "0.9", "2.0"),
    ("mattress", "床垫", "mattress", "mattress", "25", "0.72", "2.0"),
    ("three_seat_sofa", "三人沙发", "three-seat sofa", "sofa", "50", "1.6", "2.1"),
    ("armchair", "单人沙发", "armchair", "sofa", "20", "0.69", "0.9"),
    ("wardrobe", "衣柜", "wardrobe", "wardrobe", "80", "1.44", "2.0"),
    ("bookcase", "书柜", "bookcase", "bookcase", "40", "0.6", "1.9"),
    ("dining_table", "餐桌", "dining table", "table", "30", "0.84", "1.4"),
    ("desk", "书桌", "desk", "table", "25", "0.6", "1.2"),
    ("office_chair", "办公椅", "office chair", "chair", "12", "0.46", "1.1"),
    ("small_stool", "小板凳", "small stool", "chair", "1.5", "0.03", "0.3"),
    ("kitchen_cabinet", "橱柜", "kitchen cabinet", "kitchen_fitting", "45", "0.5", "1.5"),
    ("bathtub", "浴缸", "bathtub", "sanitary_fitting", "40", "0.77", "1.7"),
    ("toilet", "马桶", "toilet", "sanitary_fitting", "30", "0.21", "0.7"),
    ("wash_basin", "洗手盆", "wash basin", "sanitary_fitting", "15", "0.1", "0.6"),
    ("old_bicycle", "旧自行车", "old bicycle", "mobility_vehicle", "15", "0.5", "1.7"),
    ("mobility_scooter", "电动代步车", "mobility scooter", "mobility_vehicle", "60", "0.8", "1.2"),
    ("wheelchair", "轮椅", "wheelchair", "mobility_vehicle", "15", "0.6", "1.0"),
    ("metal_rack", "铁架", "metal rack", "large_metal", "20", "0.5", "1.8"),
    ("old_tyre", "旧轮胎", "old tyre", "rubber", "9", "0.09", "0.65"),
    ("leather_sofa", "皮革沙发", "leather sofa", "leather", "55", "1.6", "2.1"),
    ("wooden_board", "木板", "wooden board", "board", "15", "0.05", "2.4"),
    ("refrigerator", "冰箱", "refrigerator", "household_appliance", "60", "0.6", "1.7"),
    ("washing_machine", "洗衣机", "washing machine", "household_appliance", "65", "0.35", "0.85"),
    ("television", "电视", "television", "household_appliance", "15", "0.15", "1.2"),
    ("air_conditioner", "空调", "air conditioner", "household_appliance", "40", "0.3", "0.9"),
    ("computer", "电脑", "computer", "household_appliance", "8", "0.05", "0.5"),
]


def seed(apps, schema_editor):
    Entry = apps.get_model("bulkywaste", "CatalogueEntry")
    Fee = apps.get_model("bulkywaste", "FeeSchedule")
    for order, (code, name, name_en, category, kg, m3, m) in enumerate(ROWS, 1):
        Entry.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "category": category,
                "typical_weight_kg": Decimal(kg),
                "typical_volume_m3": Decimal(m3),
                "typical_length_m": Decimal(m),
                "order": order,
            },
        )
    if not Fee.objects.exists():
        Fee.objects.create(mode="free", effective_from=date(2019, 12, 1), note="前期由政府承担")


class Migration(migrations.Migration):
    dependencies = [("bulkywaste", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
