"""Voting benchmark (never run by CI): tally cost by electorate size, and ballots per second under concurrency.

    .venv/bin/python bench/voting.py [--db postgres://postgres@127.0.0.1:5432/gz_bench_voting | sqlite:///PATH]
                                     [--sizes 1000,10000,100000] [--repeat 3] [--threads 8,32] [--ballots 3000]

1. Tally. For each size, a compound of that many units is generated with bulk inserts (2 % developer units,
   5 % of owners with two units, 3 % co-owned units with a designated voter, the rest one owner each) and the
   tables are ANALYZEd (as autovacuum would have done long before a real vote is called). Then, --repeat
   times: a vote is called over it through `actions.call_vote` (the roll is frozen: SPC Art. 9 merge) and
   timed. 75 % of the last vote's heads get a ballot (bulk-inserted: this part measures reading, not
   writing), and the platform's reads are timed --repeat times with their query counts: `tally_vote` (the
   Art. 278 outcome), `turnout` (totals and by building), `data_file` (the recount file).
   Reported per step: the median wall time, the median CPU time of this (client) process, the query count,
   and the load average before and after the size. Target: constant query counts, time linear in the size.
2. Concurrency (PostgreSQL only). A vote over a compound of --ballots units; T threads, each with its own
   connection, take heads from a shared queue and call `actions.cast_ballot` (the real path: unique
   constraint, vote-row lock, hash-chain append, audit entry). Reported: ballots per second; checked: exactly
   one ballot per head, a contiguous log, `verify_ballot_log` clean.

Results are printed (JSON lines, then a Markdown table) and written to bench/out/voting-results-<vendor>.json
(see bench/VOTING.md for recorded runs).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import sys
import threading
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
    os.environ.setdefault("GONGZHI_VAR_DIR", str(OUT / "voting-var"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "gongzhi.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def analyze() -> None:
    """Fresh planner statistics after the bulk loads (autovacuum would take a minute to get there)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def build_compound(units: int, tag: str):
    """A 楼院 of `units` units in buildings of 100, owners by bulk insert. Returns (courtyard, unit_set)."""
    from decimal import Decimal

    from gongzhi.registry import actions as registry
    from gongzhi.registry.models import AreaLevel, AreaNode, Ownership, Person, Unit, UnitSet

    lv = {lvl.code: lvl for lvl in AreaLevel.objects.all()}
    mk = registry.create_area_node
    district = AreaNode.objects.filter(parent=None, name="基准区").first() or mk(
        actor=None, parent=None, level=lv["district"], name="基准区"
    )
    sub = mk(actor=None, parent=district, level=lv["subdistrict"], name=f"街道{tag}")
    com = mk(actor=None, parent=sub, level=lv["community"], name=f"社区{tag}")
    est = mk(actor=None, parent=com, level=lv["estate"], name=f"小区{tag}")
    court = mk(actor=None, parent=est, level=lv["courtyard"], name=f"楼院{tag}", profile={"management": "unmanaged"})
    buildings = [
        mk(actor=None, parent=court, level=lv["building"], name=f"{b + 1}号楼") for b in range((units + 99) // 100)
    ]
    rows = []
    for i in range(units):
        b = buildings[i // 100]
        rows.append(
            Unit(
                node=b,
                compound=court,
                path=b.path,
                number=f"{i % 100 + 101}",
                area_registered=Decimal("60.00") + i % 50,
            )
        )
    Unit.objects.bulk_create(rows, batch_size=5000)
    unit_ids = list(Unit.objects.filter(compound=court).order_by("pk").values_list("pk", flat=True))
    developer = Person.objects.create(kind="legal", name=f"开发商{tag}", is_developer=True)
    people_needed = units  # upper bound
    Person.objects.bulk_create(
        [Person(name=f"业主{tag}-{i}", phone="13900000000", home_path=court.path) for i in range(people_needed)],
        batch_size=5000,
    )
    people = list(Person.objects.filter(home_path=court.path).order_by("pk").values_list("pk", flat=True))
    own, p, i = [], 0, 0
    n_dev = units * 2 // 100
    for u in unit_ids[:n_dev]:
        own.append(Ownership(unit_id=u, person=developer, developer_status="unsold"))
    i = n_dev
    while i < units:
        r = i % 100
        if r < 10 and i + 1 < units:  # 5 % of owners hold two units
            own += [
                Ownership(unit_id=unit_ids[i], person_id=people[p]),
                Ownership(unit_id=unit_ids[i + 1], person_id=people[p]),
            ]
            p, i = p + 1, i + 2
        elif r < 13:  # 3 % co-owned, one designated voter
            own += [
                Ownership(unit_id=unit_ids[i], person_id=people[p], is_designated_voter=True),
                Ownership(unit_id=unit_ids[i], person_id=people[p + 1]),
            ]
            p, i = p + 2, i + 1
        else:
            own.append(Ownership(unit_id=unit_ids[i], person_id=people[p]))
            p, i = p + 1, i + 1
    Ownership.objects.bulk_create(own, batch_size=5000)
    unit_set = UnitSet.objects.create(name=f"楼院{tag}", kind="compound", scope=court)
    unit_set.nodes.set([court])
    return court, unit_set


def call_vote(unit_set, subject: str):
    """`actions.call_vote` alone: creates the vote and freezes its roll (what the freeze figures time)."""
    from datetime import timedelta

    from django.utils import timezone

    from gongzhi.voting import actions

    now = timezone.now()
    return actions.call_vote(
        actor=None,
        subject=subject,
        matter="property_company",
        unit_set=unit_set,
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(hours=6),
    )


def publish_and_open(vote):
    from datetime import timedelta

    from django.utils import timezone

    from gongzhi.voting import actions

    actions.publish_roll(vote, actor=None, now=timezone.now() - timedelta(days=40))
    return actions.open_vote(vote, actor=None)


def open_vote(unit_set, subject: str):
    t0 = time.perf_counter()
    vote = call_vote(unit_set, subject)
    freeze = time.perf_counter() - t0
    return publish_and_open(vote), freeze


def timed(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        c0, t0 = time.process_time(), time.perf_counter()
        value = fn()
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    return value, elapsed, cpu, len(ctx.captured_queries)


def repeated(fn, times: int) -> tuple:
    """Run fn `times` times; (last value, median wall s, median client CPU s, query counts seen)."""
    runs = [timed(fn) for _ in range(times)]
    value = runs[-1][0]
    return (
        value,
        statistics.median(r[1] for r in runs),
        statistics.median(r[2] for r in runs),
        sorted({r[3] for r in runs}),
    )


def load() -> float:
    return round(os.getloadavg()[0], 2)


def bench_tally(size: int, repeat: int) -> dict:
    from django.utils import timezone

    from gongzhi.voting import receipts, selectors
    from gongzhi.voting.models import Ballot, Vote

    tag = f"T{size}-{int(time.time())}"
    t0 = time.perf_counter()
    _court, unit_set = build_compound(size, tag)
    analyze()
    build = time.perf_counter() - t0
    load_before = load()
    votes = []

    def freeze():
        vote = call_vote(unit_set, f"基准表决 {tag} #{len(votes) + 1}")
        votes.append(vote)
        return vote

    vote, t_freeze, c_freeze, q_freeze = repeated(freeze, repeat)  # call_vote only: publishing runs signals
    vote = publish_and_open(vote)
    entries = list(vote.roll.order_by("number").values_list("pk", flat=True))
    now = timezone.now()
    voting = entries[: len(entries) * 3 // 4]
    Ballot.objects.bulk_create(
        [
            Ballot(
                vote=vote,
                roll_entry_id=e,
                choice="yes" if k % 3 else "no",
                channel="door",
                cast_at=now,
                salt=receipts.new_salt(),
            )
            for k, e in enumerate(voting)
        ],
        batch_size=5000,
    )
    analyze()
    vote = Vote.objects.get(pk=vote.pk)
    outcome, t_tally, c_tally, q_tally = repeated(lambda: selectors.tally_vote(vote), repeat)
    _t, t_turnout, c_turnout, q_turnout = repeated(lambda: selectors.turnout(vote), repeat)
    data, t_data, c_data, q_data = repeated(lambda: selectors.data_file(vote), repeat)
    return {
        "units": size,
        "heads": vote.total_heads,
        "ballots": len(voting),
        "repeat": repeat,
        "generate_s": round(build, 2),
        "load_before": load_before,
        "load_after": load(),
        "freeze_s": round(t_freeze, 3),
        "freeze_cpu_s": round(c_freeze, 3),
        "freeze_queries": q_freeze,
        "tally_s": round(t_tally, 4),
        "tally_cpu_s": round(c_tally, 4),
        "tally_queries": q_tally,
        "turnout_s": round(t_turnout, 4),
        "turnout_cpu_s": round(c_turnout, 4),
        "turnout_queries": q_turnout,
        "data_file_s": round(t_data, 4),
        "data_file_cpu_s": round(c_data, 4),
        "data_file_queries": q_data,
        "passed": outcome.passed,
        "rule": outcome.rule,
        "owners_in_file": len(data["owners"]),
    }


STEPS = [
    ("freeze", "freeze roll (`call_vote`)"),
    ("tally", "`tally_vote`"),
    ("turnout", "`turnout`"),
    ("data_file", "`data_file`"),
]


def markdown(rows: list[dict], vendor: str) -> str:
    """One table per run: per step and size the median wall time, µs per unit, the ratio to the smallest size
    (10× the units should give ~10×), the client CPU time and the query count."""
    base = rows[0]
    lines = [
        f"| {vendor} | units | heads | wall (median) | µs / unit | × smallest | client CPU | queries | load |",
        "|---|--:|--:|--:|--:|--:|--:|--:|:--|",
    ]
    for key, label in STEPS:
        for r in rows:
            wall, cpu = r[f"{key}_s"], r[f"{key}_cpu_s"]
            ratio = wall / base[f"{key}_s"] if base[f"{key}_s"] else 0
            queries = ",".join(str(q) for q in r[f"{key}_queries"])
            lines.append(
                f"| {label} | {r['units']:,} | {r['heads']:,} | {wall:.3f} s | {wall / r['units'] * 1e6:.1f} | "
                f"{ratio:.1f}× | {cpu:.3f} s | {queries} | {r['load_before']}→{r['load_after']} |"
            )
    return "\n".join(lines)


def bench_concurrency(units: int, threads: int) -> dict:
    from django.db import connections

    from gongzhi.voting import actions
    from gongzhi.voting.models import Ballot, BallotLogEntry, Vote, VoterRollEntry
    from gongzhi.voting.receipts import verify_ballot_log

    tag = f"C{units}x{threads}-{int(time.time())}"
    _court, unit_set = build_compound(units, tag)
    vote, _ = open_vote(unit_set, f"并发表决 {tag}")
    work: queue.Queue = queue.Queue()
    for e in VoterRollEntry.objects.filter(vote=vote).order_by("number"):
        work.put(e)
    heads = work.qsize()
    errors: list[str] = []
    barrier = threading.Barrier(threads + 1)

    def run():
        v = Vote.objects.get(pk=vote.pk)
        barrier.wait()
        try:
            while True:
                try:
                    entry = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    actions.cast_ballot(
                        v, entry, actor=None, choice="yes", channel="door", idempotency_key=f"{tag}-{entry.pk}"
                    )
                except Exception as e:  # noqa: BLE001 - counted and reported
                    errors.append(f"{type(e).__name__}: {e}")
        finally:
            connections.close_all()

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    vote.refresh_from_db()
    n_ballots = Ballot.objects.filter(vote=vote).count()
    seqs = list(BallotLogEntry.objects.filter(vote=vote).order_by("seq").values_list("seq", flat=True))
    problems = verify_ballot_log(vote)
    return {
        "heads": heads,
        "threads": threads,
        "seconds": round(elapsed, 2),
        "ballots_per_s": round(n_ballots / elapsed, 1),
        "ballots": n_ballots,
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "none_lost_or_doubled": n_ballots == heads == vote.ballot_count,
        "log_contiguous": seqs == list(range(1, heads + 1)),
        "log_verified": not problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", "--postgres", default="postgres://postgres@127.0.0.1:5432/gz_bench_voting")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", default="8,32")
    parser.add_argument("--ballots", type=int, default=3000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    setup(args.db)
    from django.db import connection

    vendor = connection.vendor
    results = {"vendor": vendor, "cpus": os.cpu_count(), "tally": [], "concurrency": []}
    for size in [int(s) for s in args.sizes.split(",") if s]:
        r = bench_tally(size, args.repeat)
        results["tally"].append(r)
        print(json.dumps(r, ensure_ascii=False), flush=True)
    if results["tally"]:
        print(markdown(results["tally"], vendor), flush=True)
    if vendor == "postgresql":
        for threads in [int(t) for t in args.threads.split(",") if t]:
            r = bench_concurrency(args.ballots, threads)
            r["load_after"] = load()
            results["concurrency"].append(r)
            print(json.dumps(r, ensure_ascii=False), flush=True)
    (OUT / f"voting-results-{vendor}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
