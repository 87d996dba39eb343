"""A vote's last hour, over HTTP (never run by CI): a 10,000-unit compound's owners' vote against a production-like
server, with the machine's ceiling (pgbench) measured in the same run.

    .venv/bin/python bench/vote_last_hour.py [--postgres postgres://postgres@127.0.0.1:5432]
        [--redis redis://127.0.0.1:6379/9] [--units 10000] [--turnout 0.8] [--online 0.7]
        [--server-workers 4] [--server-threads 4] [--residents 24] [--clerks 4] [--watchers 4]
        [--seconds 240] [--burst 2000] [--burst-clients 16] [--pgbench-seconds 30] [--keep]

1. Setup, in a fresh PostgreSQL database `gz_lt_<time>` (dropped at the end unless --keep): migrate, build the
   compound with bench/voting.py's builder (2 % developer units, 5 % two-unit owners, 3 % co-owned units), give
   every owner a mobile number and an account (what the roster import and resident sign-up would have done),
   call the vote (`call_vote` freezes the roll), publish it and open it, ANALYZE. A community worker with the
   ballot-entry capability signs in by password (a role without a second factor).
2. A production-like server: gunicorn with threaded workers (`-k gthread`; 4 processes × 4 threads, as
   deploy/systemd/gongzhi-web.service runs on two cores), DEBUG off, PostgreSQL, REDIS_URL (cache),
   GONGZHI_TASKS=db, on a free port, and beside it the task worker (`manage.py db_worker`) that sends the text
   messages (codes are background jobs, core.sms.deliver_sms). Residents come through a proxy
   (GONGZHI_PROXY_HOPS=1) each from their own address (X-Forwarded-For), so the per-address sign-in and SMS
   limits apply to each as in production. The district-wide SMS cap (GONGZHI_SMS_PER_DAY, 5,000 by default) is
   raised to 1,000,000: a compound's last hour sends two codes per online voter.
3. The last hour, compressed. Closed-loop virtual users, each on its own keep-alive connection, following every
   redirect as a browser does:
   - residents (`--residents` at once) take the heads to vote online, one after another: sign-in page → ask for
     the code → read it from the SMS outbox (FileBackend, `GONGZHI_VAR_DIR/sms-outbox.jsonl`) → sign in → the
     home page → the vote page → ask for the vote's code → read it → confirm → choose → check → submit (the
     ballot) → the receipt page; one in four then checks the receipt code on the public check page;
   - clerks (`--clerks`) enter the paper ballots: find the owner by unit number → the entry form → upload the
     scan (an A4 JPEG at 150 dpi, ~200 KB) with the choice → check → submit (the ballot) → the confirmation;
   - watchers (`--watchers`, anonymous) refresh the public turnout page (by building) and poll the public
     result page, one request a second each.
   `--turnout` of the heads vote, `--online` of those online (the developer's head and the others, drawn with a
   fixed seed, on paper). The mix ends when every voting head has voted or after `--seconds`.
   Then an API burst: up to `--burst` of the heads still without a ballot are entered as door-to-door ballots
   through `POST /api/v1/votes/{id}/ballots/` (token auth, Idempotency-Key), `--burst-clients` at once — one
   request per ballot, the ballot path alone over HTTP.
4. Report: ballots accepted per second (the mix, and per 10 s; the burst apart), p50/p95/p99 latency per request
   kind, errors (any status other than the expected one, or a refused ballot), the CPU seconds of gunicorn and of
   the run's PostgreSQL backends per ballot (from /proc: what the load does not inflate) and what the database
   connections were doing (running, waiting for a row lock, in a transaction waiting for Python, idle). Then, in
   process: exactly one ballot per head
   (ballot rows = distinct heads = the vote's counter = ballots the clients were told were accepted), the ballot
   log verified (`receipts.verify_ballot_log`), the audit log verified (`audit.verify`), the vote closed at its
   closing time (`close_vote`, which stores the tally) and the stored tally equal to
   `python -m gongzhi.voting.recount` run as a separate process on the data file; then `certify_result`.
5. pgbench on the same PostgreSQL (scratch database `gz_lt_pgbench`, dropped after) with the server's client
   count (gunicorn workers × threads: its database connections): select-only and TPC-B-like at scale = clients,
   and TPC-B-like at scale 1 (every transaction updates one branch row — one hot row, as every ballot of a vote
   updates the vote row). The ballot rate is printed as a fraction of each; load averages throughout.

Results go to bench/out/vote-last-hour-<time>.json; recorded runs in bench/VOTING.md.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).parent / "gunicorn")
CLERK_PASSWORD = "Bench-clerk-2026!"
sys.path.insert(0, str(ROOT))


def load() -> float:
    return round(os.getloadavg()[0], 2)


def machine_speed() -> float:
    """CPU milliseconds of a fixed pure-Python loop (best of three): how fast this machine's cores are right now.
    On a shared virtual machine the same code's CPU time per request varies by half from one hour to the next
    (neighbours on the host); the figure beside each phase says which kind of hour a run had (lower is faster)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        total = 0
        for i in range(1_000_000):
            total += i * i % 7
        best = min(best, time.process_time() - t0)
    return round(best * 1000, 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_voting():
    """bench/voting.py's builders (build_compound, call_vote, publish_and_open)."""
    spec = importlib.util.spec_from_file_location("bench_voting", ROOT / "bench" / "voting.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------------ setup


def create_database(postgres: str, name: str, drop: bool = True) -> None:
    import psycopg

    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as conn:
        if drop:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(postgres: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def server_env(args, db_url: str, var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GONGZHI_DEBUG"}  # production-like: DEBUG off
    env.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": args.redis,
            "GONGZHI_TASKS": "db",
            "GONGZHI_VAR_DIR": str(var_dir),
            "GONGZHI_LOG_LEVEL": "ERROR",
            "GONGZHI_PROXY_HOPS": "1",  # residents' addresses come in X-Forwarded-For, as behind nginx
            "GONGZHI_SMS_PER_DAY": "1000000",  # the district-wide cap: two codes per online voter in one hour
            "DJANGO_SETTINGS_MODULE": "gongzhi.settings",
        }
    )
    return env


def reuse_or_build(postgres: str, db: str, redis: str, units: int) -> None:
    """For the in-process benches (ballot_profile.py, ballot_processes.py): set Django up on database `db`, building
    the compound with `setup` the first time and reusing it after (each run then calls a fresh vote on it)."""
    import psycopg

    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
    if not exists:
        create_database(postgres, db, drop=False)
    var_dir = ROOT / "bench" / "out" / db
    var_dir.mkdir(parents=True, exist_ok=True)
    ns = argparse.Namespace(redis=redis, units=units)
    os.environ["GONGZHI_ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    db_url = f"{postgres}/{db}"
    if not exists:
        setup(ns, db_url, var_dir)
    else:
        os.environ.update(server_env(ns, db_url, var_dir))
        import django

        django.setup()


def setup(args, db_url: str, var_dir: Path) -> dict:
    """Migrate, build the compound, accounts, the vote (open), the clerk. Returns what the clients need."""
    os.environ.update(server_env(args, db_url, var_dir))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    if not (ROOT / "staticfiles").exists():
        call_command("collectstatic", "--noinput", verbosity=0)
    migrated = time.perf_counter() - t0

    from gongzhi.core.models import RoleAssignment, User
    from gongzhi.registry.models import Person
    from gongzhi.voting.models import VoterRollEntry, VoterRollUnit

    bv = bench_voting()
    t0 = time.perf_counter()
    court, unit_set = bv.build_compound(args.units, "LT")
    # Every owner a mobile number of their own (the builder gives them all one) and an account, as the roster
    # import and resident sign-up would have left them.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registry_person SET phone = '139' || lpad(id::text, 8, '0') WHERE home_path = %s", [court.path]
        )
    people = list(Person.objects.filter(home_path=court.path).values_list("pk", "phone"))
    User.objects.bulk_create(
        [User(username=f"lt{pk}", phone=phone, person_id=pk, password="!") for pk, phone in people],
        batch_size=5000,
    )
    clerk = User.objects.create_user("lt-clerk", password=CLERK_PASSWORD, display_name="录票员")
    community = court.parent.parent
    RoleAssignment.objects.create(user=clerk, role="community_worker", node=community, scope_path=community.path)
    vote, freeze = bv.open_vote(unit_set, "物业服务企业选聘（压力测试）")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    built = time.perf_counter() - t0

    phones = dict(people)
    heads = []
    first_unit = {}
    for entry_id, number in VoterRollUnit.objects.filter(vote=vote).order_by("id").values_list("entry_id", "number"):
        first_unit.setdefault(entry_id, number)
    for pk, number, token, voter_id, developer in (
        VoterRollEntry.objects.filter(vote=vote)
        .order_by("number")
        .values_list("pk", "number", "token", "voter_id", "developer")
    ):
        heads.append(
            {
                "number": number,
                "token": token,
                "phone": phones.get(voter_id, ""),
                "developer": developer,
                "unit": first_unit.get(pk, ""),
            }
        )
    return {
        "vote": vote.pk,
        "heads": heads,
        "migrate_s": round(migrated, 1),
        "build_s": round(built, 1),
        "freeze_s": round(freeze, 2),
    }


def plan(heads: list[dict], turnout: float, online: float, seed: int = 14) -> tuple[list[dict], list[dict]]:
    """Which heads vote, and how: (online, paper), each in a shuffled order (ballots arrive across buildings)."""
    rng = random.Random(seed)
    voting = [h for h in heads if rng.random() < turnout]
    online_heads, paper_heads = [], []
    for h in voting:
        h["choice"] = rng.choices(["yes", "no", "abstain"], weights=[6, 3, 1])[0]
        if h["phone"] and not h["developer"] and rng.random() < online:
            online_heads.append(h)
        else:
            paper_heads.append(h)
    rng.shuffle(online_heads)
    rng.shuffle(paper_heads)
    return online_heads, paper_heads


def scan_jpeg() -> bytes:
    """A paper ballot's scan: A4 at 150 dpi (1240 × 1754), greyscale text-like lines, JPEG quality 85."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (1240, 1754), 250)
    draw = ImageDraw.Draw(img)
    rng = random.Random(7)
    for y in range(150, 1650, 38):
        x = 120
        while x < 1100:
            w = rng.randint(20, 90)
            draw.rectangle([x, y, x + w, y + 18], fill=rng.randint(20, 90))
            x += w + rng.randint(8, 20)
    draw.rectangle([800, 1400, 860, 1460], outline=0, width=4)
    draw.line([805, 1405, 855, 1455], fill=0, width=6)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


# ------------------------------------------------------------------------------------------ the clients


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.ballots: list[tuple[float, str, str, str]] = []  # (at, token, channel, receipt)
        self.failed_heads: list[tuple[str, str]] = []

    def add(self, kind: str, ms: float) -> None:
        with self.lock:
            self.times[kind].append(ms)

    def error(self, kind: str, text: str) -> None:
        with self.lock:
            self.errors[kind].append(text[:300])

    def ballot(self, token: str, channel: str, receipt: str) -> None:
        with self.lock:
            self.ballots.append((time.monotonic(), token, channel, receipt))


class Refused(Exception):
    pass


class Browser:
    """One user: a cookie jar and one keep-alive connection; follows redirects like a browser."""

    def __init__(self, port: int, stats: Stats, address: str = ""):
        self.port, self.stats, self.address = port, stats, address
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def _send(self, method: str, path: str, body: bytes | None, headers: dict):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                return response, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None  # the server closed an idle keep-alive connection: open a new one
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def request(
        self, kind: str, method: str, path: str, *, form=None, files=None, json_body=None, expect=(200,), headers=None
    ):
        hdrs = {"Host": "127.0.0.1", "Accept-Language": "zh-hans", **(headers or {})}
        if self.address:
            hdrs["X-Forwarded-For"] = self.address
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs["Content-Type"] = "application/json"
        elif form is not None:
            form = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **form}
            if files:
                boundary = uuid.uuid4().hex
                body = multipart(form, files, boundary)
                hdrs["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            else:
                body = urllib.parse.urlencode(form).encode()
                hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        response, content = self._send(method, path, body, hdrs)
        self.stats.add(kind, (time.perf_counter() - started) * 1000)
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.status not in expect:
            text = f"{method} {path} → {response.status} {content[:200]!r}"
            self.stats.error(kind, text)
            raise Refused(text)
        return response.status, response.headers.get("Location", ""), content

    def follow(self, kind: str, location: str, expect=(200,)):
        path = urllib.parse.urlsplit(location)
        return self.request(kind, "GET", path.path + (f"?{path.query}" if path.query else ""), expect=expect)

    def close(self):
        if self.conn is not None:
            self.conn.close()


def multipart(form: dict, files: dict, boundary: str) -> bytes:
    parts = []
    for name, value in form.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data, content_type) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


class Outbox:
    """Tails the FileBackend outbox; hands each phone its next code (residents wait for theirs)."""

    CODE = re.compile(r"(\d{6})")

    def __init__(self, path: Path):
        self.path = path
        self.codes: dict[str, list[str]] = defaultdict(list)
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.path.exists() and not self.stop.is_set():
            time.sleep(0.02)
        if self.stop.is_set():
            return
        with open(self.path, encoding="utf-8") as fh:
            buffer = ""
            while not self.stop.is_set():
                chunk = fh.read()
                if not chunk:
                    time.sleep(0.01)
                    continue
                buffer += chunk
                *lines, buffer = buffer.split("\n")
                with self.cond:
                    for line in lines:
                        if line.strip():
                            msg = json.loads(line)
                            m = self.CODE.search(msg["text"])
                            if m:
                                self.codes[msg["to"]].append(m.group(1))
                    self.cond.notify_all()

    def seen(self, phone: str) -> int:
        with self.cond:
            return len(self.codes[phone])

    def wait(self, phone: str, after: int, timeout: float = 30) -> str:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.codes[phone]) > after, timeout):
                raise Refused(f"no SMS code for {phone} within {timeout}s")
            return self.codes[phone][after]


def resident(browser: Browser, outbox: Outbox, vote: int, head: dict, check_receipt: bool) -> None:
    phone = head["phone"]
    browser.request("sms-login-page", "GET", "/accounts/sms/")
    seen = outbox.seen(phone)
    _s, loc, _c = browser.request(
        "sms-login-send", "POST", "/accounts/sms/", form={"phone": phone, "send": "1"}, expect=(302,)
    )
    browser.follow("sms-login-page", loc)
    code = outbox.wait(phone, seen)
    _s, loc, _c = browser.request("sms-login-code", "POST", "/accounts/sms/", form={"code": code}, expect=(302,))
    browser.follow("home", loc)
    base = f"/voting/{vote}/vote/"
    browser.request("vote-start-page", "GET", base)
    seen = outbox.seen(phone)
    _s, loc, _c = browser.request("vote-send-code", "POST", base, form={}, expect=(302,))
    browser.follow("vote-code-page", loc)
    code = outbox.wait(phone, seen)
    _s, loc, _c = browser.request("vote-code", "POST", base + "code/", form={"code": code}, expect=(302,))
    browser.follow("vote-choice-page", loc)
    _s, loc, _c = browser.request(
        "vote-choice", "POST", base + "choice/", form={"choice": head["choice"]}, expect=(302,)
    )
    _s, _l, page = browser.follow("vote-check-page", loc)
    token = re.search(rb'name="token" value="([^"]+)"', page).group(1).decode()
    _s, loc, _c = browser.request("ballot-online", "POST", base + "check/", form={"token": token}, expect=(302,))
    if not loc.endswith("/vote/done/"):
        browser.stats.error("ballot-online", f"refused: redirected to {loc}")
        raise Refused(loc)
    _s, _l, page = browser.follow("vote-done-page", loc)
    m = re.search(rb'class="receipt-code">\s*([0-9A-Z-]{14})\s*<', page)
    receipt = m.group(1).decode() if m else ""
    browser.stats.ballot(head["token"], "online", receipt)
    if check_receipt and receipt:
        _s, _l, page = browser.request("receipt-check", "GET", f"/voting/{vote}/receipt/?code={receipt}")


def clerk(browser: Browser, vote: int, head: dict, scan: bytes) -> None:
    browser.request("enter-find", "GET", f"/voting/{vote}/enter/?q={urllib.parse.quote(head['unit'])}")
    form_path = f"/voting/{vote}/enter/{head['token']}/"
    browser.request("enter-form-page", "GET", form_path)
    _s, loc, _c = browser.request(
        "enter-upload-scan",
        "POST",
        form_path,
        form={"channel": "paper", "choice": head["choice"]},
        files={"attachment": (f"ballot-{head['number']}.jpg", scan, "image/jpeg")},
        expect=(302,),
    )
    browser.follow("enter-check-page", loc)
    _s, loc, _c = browser.request("ballot-paper", "POST", form_path + "check/", form={}, expect=(302,))
    if not loc.endswith("/enter/done/"):
        browser.stats.error("ballot-paper", f"refused: redirected to {loc}")
        raise Refused(loc)
    _s, _l, page = browser.follow("enter-done-page", loc)
    m = re.search(rb'class="receipt-code">\s*([0-9A-Z-]{14})\s*<', page)
    browser.stats.ballot(head["token"], "paper", m.group(1).decode() if m else "")


def sign_in_clerk(browser: Browser) -> None:
    browser.request("clerk-sign-in", "GET", "/accounts/login/")
    browser.request(
        "clerk-sign-in",
        "POST",
        "/accounts/login/",
        form={"username": "lt-clerk", "password": CLERK_PASSWORD},
        expect=(302,),
    )


def run_load(args, port: int, info: dict, outbox: Outbox) -> dict:
    stats = Stats()
    online, paper = plan(info["heads"], args.turnout, args.online)
    vote = info["vote"]
    lock = threading.Lock()
    queues = {"online": list(reversed(online)), "paper": list(reversed(paper))}
    done = threading.Event()
    scan = scan_jpeg()

    def take(kind: str) -> dict | None:
        with lock:
            return queues[kind].pop() if queues[kind] else None

    def resident_loop(i: int):
        rng = random.Random(i)
        while not done.is_set():
            head = take("online")
            if head is None:
                return
            number = int(head["phone"][3:])
            address = f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"
            browser = Browser(port, stats, address)  # a new phone, a new session
            try:
                resident(browser, outbox, vote, head, check_receipt=rng.random() < 0.25)
            except Refused:
                stats.failed_heads.append((head["token"], "online"))
            except Exception as e:  # noqa: BLE001 - a client failure is counted, not fatal
                stats.error("client", f"{type(e).__name__}: {e}")
                stats.failed_heads.append((head["token"], "online"))
            finally:
                browser.close()

    def clerk_loop(i: int):
        browser = Browser(port, stats, f"192.168.0.{i + 10}")
        try:
            sign_in_clerk(browser)
        except Refused:
            return
        while not done.is_set():
            head = take("paper")
            if head is None:
                break
            try:
                clerk(browser, vote, head, scan)
            except Refused:
                stats.failed_heads.append((head["token"], "paper"))
            except Exception as e:  # noqa: BLE001
                stats.error("client", f"{type(e).__name__}: {e}")
                stats.failed_heads.append((head["token"], "paper"))
        browser.close()

    def watcher_loop(i: int):
        browser = Browser(port, stats, f"172.16.{i}.1")
        rng = random.Random(100 + i)
        time.sleep(rng.random())
        while not done.is_set():
            kind, path = (
                ("turnout-page", f"/voting/{vote}/turnout/")
                if rng.random() < 0.5
                else ("result-page", f"/voting/{vote}/result/")
            )
            try:
                browser.request(kind, "GET", path)
            except Refused:
                pass
            except Exception as e:  # noqa: BLE001
                stats.error("client", f"{type(e).__name__}: {e}")
            done.wait(args.watch_interval)
        browser.close()

    voters = [threading.Thread(target=resident_loop, args=(i,)) for i in range(args.residents)]
    voters += [threading.Thread(target=clerk_loop, args=(i,)) for i in range(args.clerks)]
    watchers = [threading.Thread(target=watcher_loop, args=(i,), daemon=True) for i in range(args.watchers)]
    load_before = load()
    cpu0 = os.times()
    t0 = time.monotonic()
    for t in voters + watchers:
        t.start()
    loads = []
    deadline = t0 + args.seconds
    while any(t.is_alive() for t in voters) and time.monotonic() < deadline:
        time.sleep(1)
        if int(time.monotonic() - t0) % 10 == 0:
            loads.append(load())
            print(
                f"  {time.monotonic() - t0:5.0f}s  ballots {len(stats.ballots):6d}  load {loads[-1]}",
                flush=True,
            )
    done.set()
    for t in voters:
        t.join()
    elapsed = time.monotonic() - t0
    cpu1 = os.times()
    for t in watchers:
        t.join(timeout=5)
    return {
        "stats": stats,
        "elapsed": elapsed,
        "t0": t0,
        "planned": {"online": len(online), "paper": len(paper)},
        "load_before": load_before,
        "load_during": loads,
        "load_after": load(),
        "client_cpu_s": round((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system), 1),
    }


def run_burst(args, port: int, info: dict, stats: Stats) -> dict:
    """The heads left (never voted in the mix) entered through the API by door-to-door workers' devices syncing
    at once: one request per ballot (POST /api/v1/votes/{id}/ballots/, channel "door", no scan), `--burst-clients`
    at a time. What the ballot path itself sustains over HTTP, without the pages around it."""
    from gongzhi.voting.models import Ballot

    vote = info["vote"]
    voted = set(Ballot.objects.filter(vote_id=vote).values_list("roll_entry__token", flat=True))
    left = [h for h in info["heads"] if h["token"] not in voted][: args.burst]
    browser = Browser(port, stats, "192.168.1.1")
    _s, _l, body = browser.request(
        "api-token",
        "POST",
        "/api/v1/token/",
        json_body={"username": "lt-clerk", "password": CLERK_PASSWORD},
        expect=(200,),
    )
    token = json.loads(body)["token"]
    browser.close()
    lock = threading.Lock()
    queue = list(reversed(left))
    rng = random.Random(21)
    for h in left:
        h["choice"] = rng.choices(["yes", "no", "abstain"], weights=[6, 3, 1])[0]
    before = len(stats.ballots)

    def loop(i: int):
        device = Browser(port, stats, f"192.168.2.{i + 1}")
        auth = {"Authorization": f"Token {token}"}
        while True:
            with lock:
                if not queue:
                    break
                head = queue.pop()
            try:
                _s, _l, body = device.request(
                    "api-ballot-door",
                    "POST",
                    f"/api/v1/votes/{vote}/ballots/",
                    json_body={"roll_token": head["token"], "choice": head["choice"], "channel": "door"},
                    headers={**auth, "Idempotency-Key": f"lt-door-{head['token']}"},
                    expect=(201,),
                )
                stats.ballot(head["token"], "door", json.loads(body)["receipt"])
            except Refused:
                stats.failed_heads.append((head["token"], "door"))
            except Exception as e:  # noqa: BLE001
                stats.error("client", f"{type(e).__name__}: {e}")
                stats.failed_heads.append((head["token"], "door"))
        device.close()

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(args.burst_clients)]
    load_before = load()
    t0 = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - t0
    n = len(stats.ballots) - before
    return {
        "heads": len(left),
        "clients": args.burst_clients,
        "seconds": round(elapsed, 1),
        "ballots": n,
        "ballots_per_s": round(n / elapsed, 1) if elapsed else 0,
        "load_before": load_before,
        "load_after": load(),
    }


class CpuMeter:
    """CPU seconds used by the server's processes (gunicorn master and workers, the task worker that sends the text
    messages) and by the PostgreSQL backends of
    the run's database, read from /proc every second, so a busy machine's share does not hide the cost: CPU time
    per ballot is what the load average does not inflate. A process that exits keeps its last reading."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, server_pids: list[int], dbname: str, task_pids: list[int] = ()):
        self.server_pids, self.task_pids, self.dbname = set(server_pids), set(task_pids), dbname
        self.seen: dict[tuple[str, int], float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sample()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.wait(1.0):
            self.sample()

    def sample(self) -> None:
        readings = {}
        for pid_dir in Path("/proc").iterdir():
            if not pid_dir.name.isdigit():
                continue
            try:
                stat = (pid_dir / "stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                ppid, cpu = int(fields[1]), (int(fields[11]) + int(fields[12])) / self.TICK
                pid = int(pid_dir.name)
                if pid in self.server_pids or ppid in self.server_pids:
                    readings[("server", pid)] = cpu
                elif pid in self.task_pids or ppid in self.task_pids:
                    readings[("tasks", pid)] = cpu
                elif fields[0] in "RSD" and self.dbname.encode() in (pid_dir / "cmdline").read_bytes():
                    readings[("postgres", pid)] = cpu
            except (OSError, IndexError, ValueError):
                continue
        with self.lock:
            self.seen.update(readings)

    def totals(self) -> dict[str, float]:
        self.sample()
        with self.lock:
            out = {"server": 0.0, "tasks": 0.0, "postgres": 0.0}
            for (kind, _pid), cpu in self.seen.items():
                out[kind] += cpu
            return out


class WaitSampler:
    """Twice a second, what the run's PostgreSQL backends are doing (pg_stat_activity): running a statement,
    waiting for a row lock (wait_event_type Lock: in this run, the vote row), inside a transaction waiting for the
    web worker's Python to send the next statement (which, for the ballot holding the vote row, keeps every other
    ballot of the vote waiting), or idle between requests."""

    def __init__(self, postgres: str, dbname: str):
        import psycopg

        self.conn = psycopg.connect(f"{postgres}/{dbname}", autocommit=True)
        self.counts: dict[str, int] = defaultdict(int)
        self.samples = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        sql = (
            "SELECT CASE WHEN state = 'active' AND wait_event_type = 'Lock' THEN 'lock' "
            "WHEN state = 'active' THEN 'active' WHEN state LIKE 'idle in transaction%%' THEN 'in_transaction' "
            "ELSE 'idle' END, count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "GROUP BY 1"
        )
        while not self.stop.wait(0.5):
            try:
                rows = self.conn.execute(sql).fetchall()
            except Exception:  # noqa: BLE001 - a missed sample
                continue
            self.samples += 1
            for state, n in rows:
                self.counts[state] += n

    def result(self) -> dict:
        self.stop.set()
        self.thread.join(timeout=5)
        self.conn.close()
        n = max(1, self.samples)
        return {state: round(self.counts[state] / n, 2) for state in ("active", "lock", "in_transaction", "idle")}


def settle(meter: CpuMeter, quiet: float = 0.05, most: int = 60) -> int:
    """Wait (at most `most` seconds) until the server, the task worker and the run's PostgreSQL backends use less
    than `quiet` CPU-seconds in a second: the mix's tail (text messages still queued, autovacuum after its writes)
    done, so the burst measures the ballot path alone. Returns the seconds waited."""
    before = sum(meter.totals().values())
    for waited in range(1, most + 1):
        time.sleep(1.0)
        now = sum(meter.totals().values())
        if now - before < quiet:
            return waited
        before = now
    return most


def cpu_delta(before: dict, after: dict) -> dict:
    return {k: round(after[k] - before[k], 1) for k in before}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


def latency_table(stats: Stats) -> list[dict]:
    rows = []
    for kind in sorted(stats.times):
        values = stats.times[kind]
        rows.append(
            {
                "kind": kind,
                "n": len(values),
                "p50": round(percentile(values, 0.50), 1),
                "p95": round(percentile(values, 0.95), 1),
                "p99": round(percentile(values, 0.99), 1),
                "errors": len(stats.errors.get(kind, [])),
            }
        )
    return rows


# ------------------------------------------------------------------------------------------- the checks


def checks(info: dict, stats: Stats, var_dir: Path) -> dict:
    from django.db.models import Count

    from gongzhi.core import audit
    from gongzhi.voting import actions, receipts, selectors
    from gongzhi.voting.models import Ballot, BallotLogEntry, Vote

    vote = Vote.objects.get(pk=info["vote"])
    accepted = {token for _at, token, _ch, _r in stats.ballots}
    rows = Ballot.objects.filter(vote=vote)
    n_rows = rows.count()
    heads_with_ballot = set(rows.values_list("roll_entry__token", flat=True))
    doubled = rows.values("roll_entry").annotate(n=Count("id")).filter(n__gt=1).count()
    log_entries = BallotLogEntry.objects.filter(vote=vote).count()
    t0 = time.perf_counter()
    problems = receipts.verify_ballot_log(vote)
    verify_s = time.perf_counter() - t0
    audit_problems = list(audit.verify())
    # Receipts the clients were shown are the log's codes for their heads.
    codes = dict(BallotLogEntry.objects.filter(vote=vote).values_list("roll_token", "receipt_code"))
    receipts_ok = all(not r or receipts.format_code(codes.get(token, "")) == r for _at, token, _ch, r in stats.ballots)
    # Close at the closing time (the tally is stored), then recount the data file in a separate process.
    vote = actions.close_vote(vote, actor=None, now=vote.closes_at)
    data_path = var_dir / f"vote-{vote.pk}-data.json"
    data_path.write_text(json.dumps(selectors.data_file(vote), ensure_ascii=False))
    out = subprocess.run(
        [PYTHON, "-m", "gongzhi.voting.recount", str(data_path)], capture_output=True, text=True, cwd=ROOT
    )
    recount = json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr}
    stored = vote.result.get("recount")
    certified = True
    try:
        actions.certify_result(vote, actor=None, now=vote.closes_at)
    except actions.VoteError as e:
        certified = str(e)
    return {
        "ballot_rows": n_rows,
        "distinct_heads": len(heads_with_ballot),
        "vote_ballot_count": vote.ballot_count,
        "accepted_by_clients": len(stats.ballots),
        "heads_doubled": doubled,
        "one_ballot_per_head": n_rows == len(heads_with_ballot) == vote.ballot_count == len(stats.ballots)
        and accepted == heads_with_ballot
        and doubled == 0,
        "log_entries": log_entries,
        "log_verified": not problems and log_entries == n_rows,
        "log_problems": [str(p) for p in problems[:3]],
        "log_verify_s": round(verify_s, 2),
        "audit_verified": not audit_problems,
        "receipts_match_log": receipts_ok,
        "tally_equals_recount": recount == stored,
        "recount": recount,
        "motion_passed": vote.passed,  # the vote's outcome (a partial turnout), not a check
        "rule": vote.result.get("rule"),
        "certified": certified,
    }


# ---------------------------------------------------------------------------------------------- pgbench


def pgbench_bin() -> str:
    return shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"


def pgbench(postgres: str, clients: int, seconds: int, prefix: str = "gz_lt") -> list[dict]:
    """Select-only and TPC-B-like at scale = clients, then TPC-B-like at scale 1 (one hot branch row)."""
    url = urllib.parse.urlsplit(postgres)
    base = [
        "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
    ]  # fmt: skip
    name = f"{prefix}_pgbench"
    runs = []
    try:
        for scale, modes in ((clients, [("select-only", ["-S"]), ("tpcb-like", [])]), (1, [("tpcb-like", [])])):
            create_database(postgres, name)
            subprocess.run([pgbench_bin(), *base, "-i", "-q", "-s", str(scale), name], check=True, capture_output=True)
            for label, flags in modes:
                before = load()
                out = subprocess.run(
                    [pgbench_bin(), *base, *flags, "-c", str(clients), "-j", "2", "-T", str(seconds), name],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
                lat = re.search(r"latency average = ([\d.]+) ms", out)
                runs.append(
                    {
                        "mode": label,
                        "scale": scale,
                        "clients": clients,
                        "seconds": seconds,
                        "tps": round(tps, 1),
                        "latency_avg_ms": float(lat.group(1)) if lat else None,
                        "load_before": before,
                        "load_after": load(),
                    }
                )
                print(f"  pgbench {label:11s} scale {scale:3d}: {tps:9.1f} tps  (load {before}→{load()})", flush=True)
    finally:
        drop_database(postgres, name)
    return runs


# ------------------------------------------------------------------------------------------------- main


def wait_for(port: int, server: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/baseline/", headers={"Host": "127.0.0.1"})
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server on port {port} did not start")


def report(args, info: dict, run: dict, check: dict, bench: list[dict]) -> dict:
    stats: Stats = run["stats"]
    elapsed = run["elapsed"]
    n = sum(1 for b in stats.ballots if b[2] != "door")  # the mix; the API burst is reported apart
    rate = n / elapsed if elapsed else 0
    windows = defaultdict(int)
    for at, _token, channel, _receipt in stats.ballots:
        if channel != "door":
            windows[int((at - run["t0"]) // 10)] += 1
    per_10s = [round(windows[w] / 10, 1) for w in range(int(elapsed // 10))]
    lat = latency_table(stats)
    mix_requests = sum(len(v) for k, v in stats.times.items() if not k.startswith("api-"))
    clients = args.server_workers * args.server_threads
    result = {
        "units": args.units,
        "heads": len(info["heads"]),
        "vote": info["vote"],
        "setup": {k: info[k] for k in ("migrate_s", "build_s", "freeze_s")},
        "server": f"gunicorn -k gthread -w {args.server_workers} --threads {args.server_threads}",
        "db_clients": clients,
        "clients": {"residents": args.residents, "clerks": args.clerks, "watchers": args.watchers},
        "planned": run["planned"],
        "seconds": round(elapsed, 1),
        "ballots": n,
        "ballots_online": sum(1 for b in stats.ballots if b[2] == "online"),
        "ballots_paper": sum(1 for b in stats.ballots if b[2] == "paper"),
        "ballots_per_s": round(rate, 1),
        "ballots_per_s_by_10s": per_10s,
        "requests": mix_requests,
        "requests_per_s": round(mix_requests / elapsed, 1),
        "latency_ms": lat,
        "errors": {k: len(v) for k, v in stats.errors.items()},
        "error_samples": {k: v[:3] for k, v in stats.errors.items()},
        "failed_heads": len(stats.failed_heads),
        "load_before": run["load_before"],
        "load_during": run["load_during"],
        "load_after": run["load_after"],
        "client_cpu_s": run["client_cpu_s"],
        "server_cpu_s": run["cpu_s"],
        "backends": run["backends"],
        "cpu_ms_per_ballot": {k: round(v * 1000 / n, 1) for k, v in run["cpu_s"].items()} if n else {},
        "burst": run["burst"],
        "checks": check,
        "pgbench": bench,
        "cpus": os.cpu_count(),
        "sms_note": "GONGZHI_SMS_PER_DAY raised to 1,000,000 (district-wide cap); per-number, per-address and "
        "sign-in limits as in production, each resident from its own address (X-Forwarded-For, PROXY_HOPS=1)",
    }
    print()
    print(
        f"ballots accepted: {n} in {elapsed:.1f} s = {rate:.1f}/s "
        f"(online {result['ballots_online']}, paper {result['ballots_paper']}); "
        f"{result['requests']} requests = {result['requests_per_s']}/s; client CPU {run['client_cpu_s']} s"
    )
    print(f"per 10 s: {per_10s}")
    if n:
        per = result["cpu_ms_per_ballot"]
        total = sum(per.values())
        print(
            f"CPU per ballot in the mix: gunicorn {per['server']} ms + task worker {per['tasks']} ms + PostgreSQL "
            f"{per['postgres']} ms = {total:.1f} ms (of {sum(run['cpu_s'].values()):.1f} CPU-s in {elapsed:.0f} s) → "
            "at most "
            f"{2000 / total:.0f} ballots/s on 2 whole cores"
        )
    print(
        "PostgreSQL backends of the run, mean over the mix: {active} running a statement, {lock} waiting for a row "
        "lock, {in_transaction} in a transaction waiting for Python, {idle} idle".format(**run["backends"])
    )
    if burst := run["burst"]:
        print(
            "... over the API burst: {active} running, {lock} waiting for a row lock, {in_transaction} in a "
            "transaction waiting for Python, {idle} idle".format(**burst["backends"])
        )
    print(f"load average (1 min): before {run['load_before']}, during {run['load_during']}, after {run['load_after']}")
    print("\n| request | n | p50 ms | p95 ms | p99 ms | errors |\n|---|--:|--:|--:|--:|--:|")
    for r in lat:
        print(f"| {r['kind']} | {r['n']} | {r['p50']} | {r['p95']} | {r['p99']} | {r['errors']} |")
    if stats.errors:
        print("errors:", json.dumps(result["error_samples"], ensure_ascii=False, indent=1))
    print("\nchecks:", json.dumps({k: v for k, v in check.items() if k != "recount"}, ensure_ascii=False))
    burst = run["burst"]
    if burst:
        cpu = burst["cpu_s"]
        per = sum(cpu.values()) * 1000 / burst["ballots"] if burst["ballots"] else 0
        burst["cpu_ms_per_ballot"] = round(per, 1)
        print(
            f"API burst: {burst['ballots']} door-to-door ballots in {burst['seconds']} s = {burst['ballots_per_s']}/s "
            f"from {burst['clients']} clients (load {burst['load_before']}→{burst['load_after']}); CPU per ballot "
            f"gunicorn {cpu['server'] * 1000 / max(1, burst['ballots']):.1f} ms + task worker "
            f"{cpu['tasks'] * 1000 / max(1, burst['ballots']):.1f} ms + PostgreSQL "
            f"{cpu['postgres'] * 1000 / max(1, burst['ballots']):.1f} ms → at most {2000 / per if per else 0:.0f}/s "
            f"on 2 whole cores; the load generator itself {burst['client_cpu_s'] * 1000 / max(1, burst['ballots']):.1f}"
            f" ms (settled {burst['settled_s']} s after the mix; machine speed {burst['machine_speed_ms']} ms, "
            "see machine_speed)"
        )
    for b in bench:
        extra = f"; API burst = {burst['ballots_per_s'] / b['tps']:.4f}" if burst else ""
        print(
            f"pgbench {b['mode']} (scale {b['scale']}, {b['clients']} clients): {b['tps']} tps — "
            f"mix ballots/s = {rate / b['tps']:.4f} of it{extra} (load {b['load_before']}→{b['load_after']})"
        )
    print(result["sms_note"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--units", type=int, default=10000)
    parser.add_argument("--turnout", type=float, default=0.8, help="share of heads that vote")
    parser.add_argument("--online", type=float, default=0.7, help="share of voters who vote online")
    # As deployed (deploy/systemd/gongzhi-web.service: 2 × cores processes × 4 threads on this 2-core machine).
    parser.add_argument("--server-workers", type=int, default=4)
    parser.add_argument("--server-threads", type=int, default=4)
    parser.add_argument("--residents", type=int, default=24, help="residents voting at once")
    parser.add_argument("--clerks", type=int, default=4, help="workers entering paper ballots at once")
    parser.add_argument("--watchers", type=int, default=4, help="anonymous turnout/result pollers")
    parser.add_argument("--watch-interval", type=float, default=1.0)
    parser.add_argument("--seconds", type=int, default=240, help="stop the load after this long")
    parser.add_argument("--pgbench-seconds", type=int, default=30, help="0: skip pgbench")
    parser.add_argument("--burst", type=int, default=2000, help="heads left then entered through the API (0: none)")
    parser.add_argument("--burst-clients", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="keep the database (dropped by default)")
    parser.add_argument("--db-prefix", default="gz_lt", help="databases <prefix>_<time> and <prefix>_pgbench")
    args = parser.parse_args()
    postgres = args.postgres.rstrip("/")
    stamp = time.strftime("%Y%m%d%H%M%S")
    name = f"{args.db_prefix}_{stamp}"
    db_url = f"{postgres}/{name}"
    var_dir = OUT / f"lt-var-{stamp}"
    var_dir.mkdir(parents=True, exist_ok=True)
    import redis

    redis.Redis.from_url(args.redis).flushdb()  # the run's own Redis database: no cache left from earlier runs
    create_database(postgres, name)
    server = worker = None
    try:
        print(
            f"== setup: {args.units:,} units in {name} (load {load()}, machine speed {machine_speed()} ms)", flush=True
        )
        info = setup(args, db_url, var_dir)
        print(
            f"  migrate {info['migrate_s']} s, compound + accounts + vote {info['build_s']} s "
            f"(freeze {info['freeze_s']} s), {len(info['heads']):,} heads",
            flush=True,
        )
        from django.db import connections

        connections.close_all()
        port = free_port()
        server = subprocess.Popen(
            [
                GUNICORN,
                "gongzhi.wsgi",
                "-k",
                "gthread",
                "-w",
                str(args.server_workers),
                "--threads",
                str(args.server_threads),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],  # fmt: skip
            env=server_env(args, db_url, var_dir),
            cwd=ROOT,
        )
        # The task worker, as deployed beside the web workers (scripts/worker.sh): text messages, codes included,
        # are sent by background jobs (core.sms.deliver_sms).
        worker = subprocess.Popen(
            [PYTHON, "manage.py", "db_worker", "--queue-name", "*", "--no-startup-delay", "-v", "0"],
            env=server_env(args, db_url, var_dir),
            cwd=ROOT,
        )
        wait_for(port, server)
        outbox = Outbox(var_dir / "sms-outbox.jsonl")
        print(
            f"== the last hour: {args.residents} residents, {args.clerks} clerks, {args.watchers} watchers against "
            f"gunicorn -k gthread -w {args.server_workers} --threads {args.server_threads} (load {load()})",
            flush=True,
        )
        meter = CpuMeter([server.pid], name, task_pids=[worker.pid])
        cpu0 = meter.totals()
        waits = WaitSampler(postgres, name)
        run = run_load(args, port, info, outbox)
        cpu1 = meter.totals()
        run["cpu_s"] = cpu_delta(cpu0, cpu1)
        run["backends"] = waits.result()
        outbox.stop.set()
        run["burst"] = None
        if args.burst:
            print(f"== API burst: up to {args.burst} door-to-door ballots, {args.burst_clients} at once", flush=True)
            settled = settle(meter)
            speed = machine_speed()
            print(
                f"  settled after the mix in {settled} s (text messages sent, autovacuum done); machine speed "
                f"{speed} ms",
                flush=True,
            )
            cpu1, client0 = meter.totals(), os.times()
            waits = WaitSampler(postgres, name)
            run["burst"] = run_burst(args, port, info, run["stats"])
            run["burst"]["cpu_s"] = cpu_delta(cpu1, meter.totals())
            client1 = os.times()
            run["burst"]["client_cpu_s"] = round(client1.user + client1.system - client0.user - client0.system, 1)
            run["burst"]["settled_s"] = settled
            run["burst"]["machine_speed_ms"] = speed
            run["burst"]["backends"] = waits.result()
            print(f"  {run['burst']}", flush=True)
        meter.stop.set()
        server.terminate()
        server.wait(timeout=30)
        server = None
        worker.terminate()
        worker.wait(timeout=30)
        worker = None
        print("== checks", flush=True)
        check = checks(info, run["stats"], var_dir)
        connections.close_all()
        bench = []
        if args.pgbench_seconds:
            clients = args.server_workers * args.server_threads
            print(f"== pgbench, {clients} clients, {args.pgbench_seconds} s each", flush=True)
            bench = pgbench(postgres, clients, args.pgbench_seconds, args.db_prefix)
        result = report(args, info, run, check, bench)
        (OUT / f"vote-last-hour-{stamp}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    finally:
        for process in (server, worker):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(postgres, name)
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
