"""Timeline lines keep what the platform says as data (Event.params) so they read in the reader's language.

Lines written before are read back from their Chinese note where it has one of the shapes the actions wrote
(a time limit was written without its year: it is the first such day on or after the line's own moment). A
line that matches none keeps its note, which Event.text still shows.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations, models

CHANNELS = {"居民网上": "web", "热线": "hotline", "上门走访": "door", "Open311": "open311", "大件垃圾举报": "bulky"}
TAKERS = {
    "职能部门": "department",
    "党员/联络员": "party_member",
    "志愿者": "volunteer",
    "驻区单位": "resident_unit",
    "社区": "community",
    "物业": "property",
}
SATISFACTION = {"满意": "satisfied", "基本满意": "basic", "不满意": "unsatisfied"}
LEVELS = {"催办": 1, "督办": 2, "区级督办": 3}


def _moment(text: str, after: datetime) -> str:
    """A time limit as written ("12月3日17:30") as an ISO moment: the first such local time from `after` on."""
    m = re.fullmatch(r"(\d{1,2})月(\d{1,2})日(\d{2}):(\d{2})", text)
    if not m:
        return ""
    local = after.astimezone(ZoneInfo(settings.TIME_ZONE))
    month, day, hour, minute = (int(g) for g in m.groups())
    for year in (local.year, local.year + 1):
        try:
            moment = local.replace(year=year, month=month, day=day, hour=hour, minute=minute, second=0, microsecond=0)
        except ValueError:  # 2月29日 in a year without it
            continue
        if (local - moment).days < 1:
            return moment.isoformat()
    return ""


def params_of(kind: str, note: str, at: datetime | None = None) -> dict:
    if kind == "dispatch" and at is not None:
        m = re.match(r"^派至(.*)；办理时限(\S+)$", note)
        due = _moment(m.group(2), at) if m else ""
        if due:
            to = "" if m.group(1) == "社区党员、志愿者接单" else m.group(1)
            return {"to": to, "due": due}
    if kind == "extend" and at is not None:
        m = re.match(r"^延期至(\S+?日\d{2}:\d{2})：(.*)$", note)
        due = _moment(m.group(1), at) if m else ""
        if due:
            return {"due": due, "reason": m.group(2)}
    if kind == "accept" and note.endswith("受理") and note[:-2] in CHANNELS:
        return {"channel": CHANNELS[note[:-2]]}
    if kind == "take" and note in TAKERS:
        return {"taker_kind": TAKERS[note]}
    if kind == "follow_up" and note in ("已解决", "未解决"):
        return {"solved": note == "已解决"}
    if kind == "follow_up" and note == "多次回访未接通":
        return {"unreached": True}
    if kind == "rate" and note in SATISFACTION:
        return {"satisfaction": SATISFACTION[note]}
    if kind == "escalate":
        m = re.match(r"^(催办|督办|区级督办)（([^）]*)）\s*(.*)$", note)
        if m:
            auto = m.group(3) == "到期自动"
            return {"level": LEVELS[m.group(1)], "to": m.group(2), "note": "" if auto else m.group(3), "auto": auto}
    if kind == "merge":
        m = re.match(r"^并入(\S+)\s*(.*)$", note)
        if m:
            return {"into": m.group(1), "note": m.group(2)}
    return {}


def forwards(apps, schema_editor):
    Event = apps.get_model("servicedesk", "Event")
    kinds = ["accept", "dispatch", "take", "extend", "follow_up", "rate", "escalate", "merge"]
    for event in Event.objects.filter(params={}, kind__in=kinds).iterator():
        params = params_of(event.kind, event.note, event.at)
        if params:
            event.params, event.note = params, ""
            event.save(update_fields=["params", "note"])


class Migration(migrations.Migration):
    dependencies = [
        ("servicedesk", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
