"""Ballots per second through `voting.actions.cast_ballot` from several processes at once (never run by CI).

    .venv/bin/python bench/ballot_processes.py [--db gz_ballots_proc] [--units 6000] [--processes 2,4,8]
        [--ballots 1500]

What it isolates: the ballot's own work in the database and the locks one vote's ballots share, without HTTP,
sign-in, DRF or templates (10–15 ms of a request's CPU, bench/VOTING.md §6). P worker processes — separate
interpreters, so no shared GIL, as gunicorn workers — each with its own connection, wait at a barrier and then
cast door-to-door ballots (a clerk for each head, `channel="door"`, an Idempotency-Key) for their share of the
heads of one fresh vote, one after another. Reported per P: ballots per second (wall clock from the barrier to
the last ballot), latency p50/p95/p99 of `cast_ballot`, CPU per ballot of the workers and of the run's
PostgreSQL backends (from /proc), and what the backends were doing (pg_stat_activity sampled 20 times a second:
running, waiting for a lock, in a transaction waiting for Python). Then checked: one ballot per head, the vote's
counter, `verify_ballot_log` clean (after `seal_all`, what the minute job does with a burst's last leaves).

The compound is built the first time with bench/vote_last_hour.py's setup and reused (a new vote each run).
Run the same file from a checkout of another commit to compare designs on the same machine in the same hour.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def last_hour():
    spec = importlib.util.spec_from_file_location("vote_last_hour", ROOT / "bench" / "vote_last_hour.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pids_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total


def _worker(vote_id: int, clerk_id: int, entry_ids: list[int], barrier, out) -> None:
    import django
    from django.db import connection

    django.setup()
    from gongzhi.core.models import User
    from gongzhi.voting import actions
    from gongzhi.voting.models import Vote, VoterRollEntry

    clerk = User.objects.get(pk=clerk_id)
    vote = Vote.objects.get(pk=vote_id)
    entries = list(VoterRollEntry.objects.filter(pk__in=entry_ids).order_by("pk"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    barrier.wait()
    c0, pg0 = time.process_time(), _pids_cpu([backend])
    latencies, errors = [], 0
    for entry in entries:
        t0 = time.perf_counter()
        try:
            actions.cast_ballot(
                vote, entry, actor=clerk, choice="yes", channel="door", idempotency_key=f"proc-{entry.token}"
            )
        except Exception as e:  # noqa: BLE001 — counted and reported, the run goes on
            errors += 1
            print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        latencies.append(time.perf_counter() - t0)
    cpu, pg_cpu = time.process_time() - c0, _pids_cpu([backend]) - pg0
    out.put({"n": len(entries), "errors": errors, "latencies": latencies, "cpu": cpu, "pg_cpu": pg_cpu})
    connection.close()


def _sampler(db_url: str, datname: str, stop: threading.Event, counts: dict) -> None:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        while not stop.is_set():
            rows = conn.execute(
                "SELECT state, wait_event_type FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'",
                (datname,),
            ).fetchall()
            counts["samples"] += 1
            for state, wait in rows:
                if wait == "Lock":
                    counts["lock"] += 1
                elif state == "active":
                    counts["running"] += 1
                elif state and state.startswith("idle in transaction"):
                    counts["in_transaction"] += 1
            time.sleep(0.05)


def run_one(args, lh, bv, processes: int) -> dict:
    from django.db import connections

    from gongzhi.core.models import User
    from gongzhi.registry.models import UnitSet
    from gongzhi.voting import receipts
    from gongzhi.voting.models import Ballot, Vote, VoterRollEntry

    unit_set = UnitSet.objects.order_by("-id").first()
    vote, _ = bv.open_vote(unit_set, f"processes {processes} {time.strftime('%H:%M:%S')}")
    ids = list(
        VoterRollEntry.objects.filter(vote=vote, developer=False).order_by("number").values_list("pk", flat=True)
    )[: args.ballots]
    clerk = User.objects.get(username="lt-clerk")
    shares = [ids[i::processes] for i in range(processes)]
    connections.close_all()  # the children must not share the parent's socket

    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes + 1)
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(vote.pk, clerk.pk, share, barrier, out)) for share in shares]
    for p in procs:
        p.start()
    counts = {"samples": 0, "lock": 0, "running": 0, "in_transaction": 0}
    stop = threading.Event()
    db_url = os.environ["DATABASE_URL"]
    sampler = threading.Thread(target=_sampler, args=(db_url, db_url.rsplit("/", 1)[1], stop, counts), daemon=True)
    load_before = os.getloadavg()[0]
    barrier.wait()
    t0 = time.perf_counter()
    sampler.start()
    results = [out.get() for _ in procs]
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    for p in procs:
        p.join()
    load_after = os.getloadavg()[0]

    if hasattr(receipts, "seal_all"):
        receipts.seal_all()
    vote = Vote.objects.get(pk=vote.pk)
    n = sum(r["n"] for r in results)
    latencies = sorted(x for r in results for x in r["latencies"])

    def pct(q: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    samples = max(1, counts["samples"])
    ballots = Ballot.objects.filter(vote=vote).count()
    return {
        "processes": processes,
        "ballots": n,
        "errors": sum(r["errors"] for r in results),
        "seconds": round(wall, 2),
        "ballots_per_s": round(n / wall, 1),
        "latency_ms": {
            "p50": pct(0.5),
            "p95": pct(0.95),
            "p99": pct(0.99),
            "mean": round(1000 * statistics.mean(latencies), 1),
        },
        "cpu_ms_per_ballot": {
            "workers": round(1000 * sum(r["cpu"] for r in results) / n, 2),
            "postgres": round(1000 * sum(r["pg_cpu"] for r in results) / n, 2),
        },
        "backends": {k: round(counts[k] / samples, 2) for k in ("running", "lock", "in_transaction")},
        "load": [load_before, load_after],
        "checks": {
            "ballot_rows": ballots,
            "vote_ballot_count": vote.ballot_count,
            "one_per_head": ballots == Ballot.objects.filter(vote=vote).values("roll_entry").distinct().count(),
            "log_verified": receipts.verify_ballot_log(vote) == [],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--db", default="gz_ballots_proc")
    parser.add_argument("--units", type=int, default=6000)
    parser.add_argument("--processes", default="2,4,8")
    parser.add_argument("--ballots", type=int, default=1500)
    args = parser.parse_args()

    lh = last_hour()
    lh.reuse_or_build(args.postgres, args.db, args.redis, args.units)
    bv = lh.bench_voting()
    code = os.popen(f"git -C {ROOT} rev-parse --short HEAD").read().strip()
    for p in [int(x) for x in args.processes.split(",")]:
        result = run_one(args, lh, bv, p)
        result["code"] = code
        print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
