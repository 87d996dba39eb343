"""Surveys benchmark (never run by CI): the cost of the three rates and of opening a survey, by frame size.

    .venv/bin/python bench/surveys.py [--db sqlite:///PATH | postgres://postgres@127.0.0.1:5432/gz_bench_surveys]
                                      [--sizes 1000,10000,50000] [--repeat 3]

For each size, a compound of that many occupied flats (buildings of 60 flats) is generated with bulk inserts and
ANALYZEd. Then a survey over it is created and opened through the actions (the frame is frozen: one row per
household, with tokens and age bands) and timed; 85 % of the households get a response (bulk-inserted: this
measures reading, not writing) and the reads are timed --repeat times with their query counts: `figures` (the
three rates with Wilson intervals), `by_building`, `by_age_band`, `data_file`, and
`python -m gongzhi.surveys.rates` over the data file (a separate process, as an auditor would run it).
Target: constant query counts, time linear in the size. Prints JSON lines, then a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))


def setup(db_url: str) -> None:
    if db_url.startswith("postgres"):
        import psycopg

        base, _, name = db_url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("GONGZHI_VAR_DIR", str(OUT / "surveys-var"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "gongzhi.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(size: int, tag: str):
    """A compound of `size` occupied flats under a fresh district, in bulk."""
    from datetime import date

    from gongzhi.registry import actions as registry
    from gongzhi.registry.models import AreaLevel, Person, Residence, Unit, UnitSet

    lv = {lvl.code: lvl for lvl in AreaLevel.objects.all()}
    district = registry.create_area_node(actor=None, parent=None, level=lv["district"], name=f"bench-{tag}")
    court = registry.create_area_node(actor=None, parent=district, level=lv["courtyard"], name=f"院-{tag}")
    buildings = [
        registry.create_area_node(actor=None, parent=court, level=lv["building"], name=f"{b + 1}号楼")
        for b in range((size + 59) // 60)
    ]
    units = Unit.objects.bulk_create(
        [
            Unit(
                node=buildings[i // 60],
                compound=court,
                path=buildings[i // 60].path,
                number=f"{i % 60 + 100}",
                resident_count=1,
            )
            for i in range(size)
        ],
        batch_size=5000,
    )
    rng = random.Random(size)
    people = Person.objects.bulk_create(
        [Person(name=f"p{i}", birth_date=date(rng.randint(1935, 1995), 1, 1)) for i in range(size)], batch_size=5000
    )
    Residence.objects.bulk_create(
        [
            Residence(unit=u, person=p, relation="owner", is_household_head=True)
            for u, p in zip(units, people, strict=True)
        ],
        batch_size=5000,
    )
    unit_set = UnitSet.objects.create(name=f"set-{tag}", kind="compound", scope=court)
    unit_set.nodes.set([court])
    return unit_set


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("ANALYZE")


def timed(fn, repeat: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    walls, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            fn()
            walls.append(time.perf_counter() - t)
        queries = len(ctx.captured_queries)
    return statistics.median(walls), queries


def run(size: int, repeat: int) -> list[dict]:
    from django.utils import timezone

    from gongzhi.surveys import actions, selectors
    from gongzhi.surveys.models import Response, SurveyHousehold
    from testkit.surveys import QUESTIONS

    tag = f"{size}-{int(time.time())}"
    unit_set = build(size, tag)
    analyze()
    today = timezone.localdate()
    t = time.perf_counter()
    survey = actions.create_survey(
        actor=None, title=f"bench {tag}", unit_set=unit_set, opens_on=today, closes_on=today, questions=QUESTIONS
    )
    survey = actions.open_survey(survey, actor=None)
    open_s = time.perf_counter() - t
    version = survey.versions.get()
    rng = random.Random(size)
    frame = list(SurveyHousehold.objects.filter(survey=survey).values_list("pk", flat=True))
    chosen = [pk for pk in frame if rng.random() < 0.85]
    now = timezone.now()
    rows = []
    for pk in chosen:
        aware = rng.random() < 0.95
        sat = rng.choice([5, 5, 5, 4, 4, 3, 2]) if aware else None
        rows.append(
            Response(
                survey=survey,
                version=version,
                household_id=pk,
                answers={"aware": "yes" if aware else "no", **({"satisfied": sat} if sat else {})},
                channel="door",
                review="approved",
                aware=aware,
                satisfaction=sat,
                submitted_at=now,
            )
        )
    Response.objects.bulk_create(rows, batch_size=5000)
    SurveyHousehold.objects.filter(pk__in=chosen).update(taken=True)
    analyze()
    out = [{"size": size, "step": "create+open (frame)", "seconds": round(open_s, 3), "queries": None}]
    for name, fn in (
        ("figures", lambda: selectors.figures(survey)),
        ("by_building", lambda: selectors.by_building(survey)),
        ("by_age_band", lambda: selectors.by_age_band(survey)),
        ("data_file", lambda: selectors.data_file(survey)),
    ):
        wall, q = timed(fn, repeat)
        out.append({"size": size, "step": name, "seconds": round(wall, 3), "queries": q})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(selectors.data_file(survey), fh)
    walls = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gongzhi.surveys.rates", fh.name], check=True, capture_output=True)
        walls.append(time.perf_counter() - t)
    out.append({"size": size, "step": "rates CLI (process)", "seconds": round(statistics.median(walls), 3)})
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--db", default=f"sqlite:///{OUT / 'surveys-bench.sqlite3'}")
    p.add_argument("--sizes", default="1000,10000,50000")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    setup(a.db)
    results = []
    for size in [int(s) for s in a.sizes.split(",")]:
        for row in run(size, a.repeat):
            print(json.dumps(row, ensure_ascii=False), flush=True)
            results.append(row)
    print("\n| households | step | seconds | queries |\n|---|---|---|---|")
    for r in results:
        print(
            f"| {r['size']} | {r['step']} | {r['seconds']} | {r.get('queries') if r.get('queries') is not None else '—'} |"
        )


if __name__ == "__main__":
    main()
