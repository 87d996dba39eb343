"""Timeline lines keep their details as data (StageEvent.params) so they read in the reader's language.

Lines written before are read back from their Chinese summary where it has one of the shapes the actions wrote;
a line that matches none keeps showing its summary (StageEvent.text falls back to it).
"""

import re

from django.db import migrations, models

SHAPES = {
    "create": [(r"^创建议题：(?P<title>.*)$", {})],
    "withdraw": [(r"^终止议题：(?P<reason>.*)$", {})],
    "opinion": [
        (r"^收到需求（(?P<channel>[^）]*)）(?P<reference>\S*)$", {"kind": "need"}),
        (r"^收到意见（(?P<channel>[^）]*)）(?P<reference>\S*)$", {"kind": "opinion"}),
    ],
    "objection": [(r"^收到异议 (?P<reference>\S+)（(?P<channel>[^）]*)）$", {})],
    "proposal": [
        (r"^修改方案（第(?P<number>\d+)版）(?: (?P<note>.*))?$", {"amended": True}),
        (r"^提出方案（第(?P<number>\d+)版）(?: (?P<note>.*))?$", {"amended": False}),
    ],
    "meeting": [(r"^安排会议：(?P<title>.*)（(?P<held_on>\d{4}-\d{2}-\d{2})）$", {})],
    "minutes": [(r"^会议纪要：(?P<title>.*)（出席(?P<present>\d+)人）$", {})],
    "resolve": [(r"^居民大会作出决议（(?P<title>.*)）$", {})],
    "link_vote": [(r"^由业主表决决议：(?P<subject>.*)$", {})],
    "answer_objection": [
        (r"^不予受理异议 (?P<reference>\S+)$", {"dismissed": True}),
        (r"^答复异议 (?P<reference>\S+)$", {"dismissed": False}),
    ],
    "report": [
        (r"^验收$", {"kind": "acceptance", "percent": None}),
        (r"^进度报告(?:（(?P<percent>\d+)%）)?$", {"kind": "progress"}),
    ],
    "account": [(r"^(?P<direction>收入|支出)：(?P<item>.*) (?P<amount>[\d.]+)元$", {})],
}
CHANNELS = {"网上": "online", "热线电话": "hotline", "入户征求": "door", "会议": "meeting"}
DIRECTIONS = {"收入": "income", "支出": "expense"}


def params_of(action: str, summary: str, stages: dict[str, list[str]]) -> dict:
    if action in ("advance", "return"):
        line, _, rest = summary.partition("：") if action == "return" else (summary, "", "")
        note = ""
        if action == "advance":
            m = re.match(r"^(.*?)（(.*)）$", line)
            if m and " → " not in m.group(2):
                line, note = m.group(1), m.group(2)
        before, arrow, after = line.partition(" → ")
        if not arrow:
            return {}
        params = {"from": stages.get(before, [before, ""]), "to": stages.get(after, [after, ""])}
        return {**params, "reason": rest} if action == "return" else {**params, "note": note}
    for pattern, extra in SHAPES.get(action, []):
        m = re.match(pattern, summary)
        if m:
            params = {k: v for k, v in m.groupdict().items() if v is not None}
            if "channel" in params:
                params["channel"] = CHANNELS.get(params["channel"], "")
            if "direction" in params:
                params["direction"] = DIRECTIONS[params["direction"]]
            for key in ("number", "present", "percent"):
                if key in params:
                    params[key] = int(params[key])
            if action == "proposal":
                params.setdefault("note", "")
            return {**params, **extra}
    return {}


def forwards(apps, schema_editor):
    StageDefinition = apps.get_model("deliberation", "StageDefinition")
    StageEvent = apps.get_model("deliberation", "StageEvent")
    stages = {s.name: [s.name, s.name_en] for s in StageDefinition.objects.order_by("-id")}
    for event in StageEvent.objects.filter(params={}).iterator():
        params = params_of(event.action, event.summary, stages)
        if params:
            event.params = params
            event.save(update_fields=["params"])


class Migration(migrations.Migration):
    dependencies = [
        ("deliberation", "0002_default_template"),
    ]

    operations = [
        migrations.AddField(
            model_name="stageevent",
            name="params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
