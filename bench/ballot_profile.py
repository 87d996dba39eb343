"""CPU per ballot request, in process (never run by CI): the API ballot and the online pages around the submit.

    .venv/bin/python bench/ballot_profile.py [--db gz_ballots_prof] [--units 3000] [-n 500]
        [--profile api|online] [--top 40]

Builds (first time; later runs reuse the database and call a fresh vote on the same compound) a compound with
bench/vote_last_hour.py's setup — PostgreSQL, DEBUG off, the production middleware stack, GONGZHI_PG_PREPARE as
default — then sends requests through Django's WSGI stack with the test client (CSRF enforced, as a browser):

- api:    n × POST /api/v1/votes/{id}/ballots/ (token sign-in, Idempotency-Key), one head each;
- online: n residents, signed in and with their identity confirmed (the session a vote's SMS code leaves), each
          through the vote page, the choice page, choose, the check page, submit, the receipt page.

Prints the process CPU time per request kind (time.process_time over all n: the client's small share included,
the same before and after a change) and the queries per request; `--profile` runs cProfile over the same
requests instead and prints the top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import os
import pstats
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def last_hour():
    spec = importlib.util.spec_from_file_location("vote_last_hour", ROOT / "bench" / "vote_last_hour.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/4")
    parser.add_argument("--db", default="gz_ballots_prof")
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("-n", type=int, default=500)
    parser.add_argument("--profile", choices=["api", "online"], default=None)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--sql", action="store_true", help="print the statements of one request of each kind")
    args = parser.parse_args()

    lh = last_hour()
    lh.reuse_or_build(args.postgres, args.db, args.redis, args.units)
    run(args, lh)


def run(args, lh) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from gongzhi.core.models import User
    from gongzhi.registry.models import UnitSet
    from gongzhi.voting.models import Ballot, VoterRollEntry

    bv = lh.bench_voting()
    unit_set = UnitSet.objects.order_by("-id").first()
    vote, _ = bv.open_vote(unit_set, f"CPU profile {time.strftime('%H:%M:%S')}")
    heads = list(
        VoterRollEntry.objects.filter(vote=vote, developer=False, voter__isnull=False)
        .order_by("number")
        .values_list("token", "voter_id")
    )
    users = dict(User.objects.filter(person_id__in=[v for _t, v in heads]).values_list("person_id", "pk"))
    heads = [(t, users[v]) for t, v in heads if v in users]
    n = args.n
    api_heads, online_heads = heads[:n], heads[n : 2 * n]
    assert len(online_heads) == n, f"only {len(heads)} heads: use more --units"

    cpu: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    queries: dict[str, set[int]] = defaultdict(set)

    def timed(kind: str, fn, measure_queries: bool = False):
        if measure_queries:
            with CaptureQueriesContext(connection) as ctx:
                response = fn()
            queries[kind].add(len(ctx.captured_queries))
            if args.sql and kind not in printed:
                printed.add(kind)
                print(f"--- {kind}")
                for q in ctx.captured_queries:
                    print("   ", q["sql"][:220])
            return response
        c0 = time.process_time()
        response = fn()
        cpu[kind] += time.process_time() - c0
        count[kind] += 1
        return response

    printed: set[str] = set()
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall

    # --- the API ballot ----------------------------------------------------------------------------------------
    api = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    r = api.post(
        "/api/v1/token/", {"username": "lt-clerk", "password": lh.CLERK_PASSWORD}, content_type="application/json"
    )
    token = r.json()["token"]
    url = f"/api/v1/votes/{vote.pk}/ballots/"

    def api_ballot(head_token: str):
        return lambda: api.post(
            url,
            json.dumps({"roll_token": head_token, "choice": "yes", "channel": "door"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
            HTTP_IDEMPOTENCY_KEY=f"prof-{head_token}",
        )

    if args.profile in (None, "api"):
        for i, (head_token, _user) in enumerate(api_heads):
            measure = i in (3, 4)  # warm: prepared statements in place
            if profiler and not measure:
                profiler.enable()
            r = timed("api ballot", api_ballot(head_token), measure)
            if profiler and not measure:
                profiler.disable()
            assert r.status_code == 201, (r.status_code, r.content[:300])

    # --- the online pages ----------------------------------------------------------------------------------------
    base = f"/voting/{vote.pk}/vote/"
    if args.profile in (None, "online"):
        # One client for all (a new one loads the middleware again, whitenoise's file scan included: a server
        # does that once per worker); each resident starts with no cookies.
        browser = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="zh-hans")
        for i, (_token, user_id) in enumerate(online_heads):
            browser.cookies.clear()
            browser.force_login(User.objects.get(pk=user_id), backend="gongzhi.core.auth_backends.SmsCodeBackend")
            session = browser.session
            session[f"vote-{vote.pk}"] = {"confirmed_at": timezone.now().isoformat()}
            session.save()
            measure = i in (3, 4)

            def step(kind, method, path, data=None, expect=200, measure=measure):
                def call():
                    if method == "GET":
                        return browser.get(path)
                    form = {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value, **(data or {})}
                    return browser.post(path, form)

                if profiler and not measure:
                    profiler.enable()
                response = timed(kind, call, measure)
                if profiler and not measure:
                    profiler.disable()
                assert response.status_code == expect, (kind, response.status_code, response.content[:300])
                return response

            step("vote page (start, confirmed → choice)", "GET", base, expect=302)
            step("choice page", "GET", base + "choice/")
            step("choose (POST)", "POST", base + "choice/", {"choice": "no"}, expect=302)
            page = step("check page", "GET", base + "check/")
            form_token = re.search(rb'name="token" value="([^"]+)"', page.content).group(1).decode()
            r = step("submit (POST)", "POST", base + "check/", {"token": form_token}, expect=302)
            assert r["Location"].endswith("/vote/done/"), r["Location"]
            step("receipt page", "GET", base + "done/")

    done = Ballot.objects.filter(vote=vote).count()
    print(f"vote {vote.pk}: {done} ballots; load {os.getloadavg()[0]:.2f}")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
        return
    total_online = 0.0
    for kind in cpu:
        per = cpu[kind] / count[kind] * 1000
        if kind != "api ballot":
            total_online += per
        print(f"{kind:45} {count[kind]:5} req  {per:7.2f} ms CPU/req  queries {sorted(queries[kind])}")
    if total_online:
        print(f"{'online pages, per ballot (6 requests)':45}        {total_online:7.2f} ms CPU")


if __name__ == "__main__":
    main()
