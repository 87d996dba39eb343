"""Seed the default procedure, 一征三议两公开, as data (a district edits or adds templates)."""

from django.db import migrations

from gongzhi.deliberation.process import DEFAULT_STAGES, DEFAULT_TEMPLATE_CODE


def seed(apps, schema_editor):
    ProcessTemplate = apps.get_model("deliberation", "ProcessTemplate")
    StageDefinition = apps.get_model("deliberation", "StageDefinition")
    template, _ = ProcessTemplate.objects.update_or_create(
        code=DEFAULT_TEMPLATE_CODE, defaults={"name": "一征三议两公开", "is_default": True}
    )
    for order, code, name, name_en, bodies, features, notice_days, notice_kind in DEFAULT_STAGES:
        StageDefinition.objects.update_or_create(
            template=template, code=code,
            defaults={"order": order, "name": name, "name_en": name_en, "bodies": bodies, "features": features,
                      "notice_days": notice_days, "notice_kind": notice_kind},
        )


def unseed(apps, schema_editor):
    ProcessTemplate = apps.get_model("deliberation", "ProcessTemplate")
    ProcessTemplate.objects.filter(code=DEFAULT_TEMPLATE_CODE, matters__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("deliberation", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
