"""Erqi's default area levels; a district edits them as data."""

from django.db import migrations

LEVELS = [
    ("district", "区", "District", 0, False),
    ("subdistrict", "街道", "Subdistrict", 1, False),
    ("community", "社区", "Community", 2, False),
    ("estate", "小区", "Estate", 3, False),
    ("courtyard", "楼院", "Courtyard compound", 4, True),
    ("building", "楼栋", "Building", 5, False),
    ("entrance", "单元", "Entrance", 6, False),
]


def seed(apps, schema_editor):
    AreaLevel = apps.get_model("registry", "AreaLevel")
    for code, name, name_en, depth, is_compound in LEVELS:
        AreaLevel.objects.update_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "depth": depth, "is_compound": is_compound}
        )


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
