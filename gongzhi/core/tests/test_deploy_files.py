"""The files under deploy/ that docs/DEPLOY.md names: every timer starts a command that exists, every scheduled job
the guide lists has its timer and is in its `systemctl enable` lines, and every unit reads the one settings file
the guide names — so an operator who follows the guide runs every job the platform needs."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path

from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[3]
SYSTEMD = ROOT / "deploy" / "systemd"
GUIDE = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
SETTINGS_FILE = "/etc/gongzhi/gongzhi.env"


def unit_lines(path: Path, key: str) -> list[str]:
    return [
        line.split("=", 1)[1].strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"{key}=")
    ]


def timers() -> dict[str, str]:
    """timer file name → the management command its gongzhi-manage@ unit runs (or the unit it starts)."""
    out = {}
    for path in sorted(SYSTEMD.glob("*.timer")):
        (unit,) = unit_lines(path, "Unit") or [path.stem + ".service"]  # systemd's default: the same name
        m = re.fullmatch(r"gongzhi-manage@(\w+)\.service", unit)
        out[path.name] = m.group(1) if m else unit
    return out


def timer_times(name: str) -> list[time]:
    """The times of day the timer fires, for `*-*-* HH:MM:SS [zone]`, `*-*-* *:MM/STEP:SS`, `*-*-* *:*:SS`."""
    (calendar,) = unit_lines(SYSTEMD / name, "OnCalendar")
    date_part, clock, *_zone = calendar.split()
    assert date_part == "*-*-*", calendar
    hour, minute, second = clock.split(":")
    hours = range(24) if hour == "*" else [int(hour)]
    if minute == "*":
        minutes = list(range(60))
    elif "/" in minute:
        start, step = minute.split("/")
        minutes = list(range(int(start), 60, int(step)))
    else:
        minutes = [int(minute)]
    return [time(h, m, int(second)) for h in hours for m in minutes]


def test_every_timer_starts_a_command_or_unit_that_exists():
    commands = get_commands()
    for name, target in timers().items():
        if target.endswith(".service"):
            assert (SYSTEMD / target).exists(), f"{name} starts {target}, which is not in deploy/systemd"
        else:
            assert target in commands, f"{name} runs manage.py {target}, which does not exist"
        assert timer_times(name), name


def test_every_scheduled_job_in_the_guide_has_its_timer_and_is_enabled():
    table = GUIDE.split("## Scheduled jobs", 1)[1].split("\n## ", 1)[0]
    listed = dict(re.findall(r"^\| `(gongzhi-[\w-]+\.timer)` \| `(\w+)`", table, flags=re.M))
    assert listed, "the guide's table of scheduled jobs is missing"
    found = timers()
    assert set(listed) == set(found), "timers in deploy/systemd and in the guide's table differ"
    for name, command in listed.items():
        if found[name].endswith(".service"):  # a unit of its own (the base backup): it runs the listed command
            assert command in (SYSTEMD / found[name]).read_text(encoding="utf-8"), name
        else:
            assert found[name] == command, name
    enable = " ".join(re.findall(r"^systemctl enable --now (.*?)(?:#.*)?$", GUIDE.replace("\\\n", " "), flags=re.M))
    for name in found:
        assert name in enable.split(), f"the guide never enables {name}"


def test_the_scheduled_commands_the_platform_relies_on_are_all_there():
    scheduled = set(timers().values())
    for command in (
        "advance_votes",  # votes open and close on time
        "send_bulky_reminders",  # residents told their pickup time
        "servicedesk_escalate",  # 催办/督办 of late orders
        "reap_jobs",  # jobs whose worker died; SMS retries
        "checkpoint_audit",
        "verify_audit",
        "verify_ballot_log",
        "apply_retention",
        "recount_counts",  # counts kept on the area nodes; ages move overnight
    ):
        assert command in scheduled, f"manage.py {command} has no timer"


def test_every_unit_reads_the_one_settings_file_the_guide_names():
    assert SETTINGS_FILE in GUIDE
    for path in sorted(SYSTEMD.glob("*.service")):
        text = path.read_text(encoding="utf-8")
        if "manage.py" not in text and "gunicorn" not in text:
            continue  # the alert and the base backup run no platform code
        assert unit_lines(path, "EnvironmentFile") == [SETTINGS_FILE], path.name
        assert unit_lines(path, "WorkingDirectory") == ["/srv/gongzhi"], path.name
