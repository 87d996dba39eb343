"""Page benchmark: do the registry pages cost the same at 1,000 and at 1,000,000 units? (never run by CI)

    python bench/pages.py [--sizes 1000,1000000] [--requests 200] [--postgres postgres://postgres@127.0.0.1:5432]

For each size: a separate database (SQLite under bench/out/, or a PostgreSQL database gz_bench_pages_<size>)
filled by `manage.py generate_city` (kept and reused on the next run; --fresh rebuilds it), a production
server (gunicorn, 2 sync workers, no debug) on a free port of 127.0.0.1, a bench user (community_worker over
the measured compound — a role without a second factor, so the measurement is of the pages themselves), then
sequential requests after a warm-up, round-robin over the pages, timed on the client:

    baseline     /baseline/                             base layout, signed in, no data
    compound     /registry/node/<compound>/             a 楼院 page
    building     /registry/node/<building>/             the unit list of the biggest building
    api units    /api/v1/units/?compound=<compound>     the API unit list (token auth)

Targets: each page's median ≤ 2 × the baseline median; the 1,000,000-unit medians within 1.5 × the 1,000-unit
ones. Results are printed as a table and written to bench/out/pages-results.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
GUNICORN = str(Path(PYTHON).parent / "gunicorn")
DISTRICT = "合成城区"
PASSWORD = "Bench-Pages-2026!"

SETUP = """
import json
from rest_framework.authtoken.models import Token
from gongzhi.core.models import RoleAssignment, User
from gongzhi.registry.models import AreaNode
district = AreaNode.objects.get(parent=None, name=%(district)r)
building = (AreaNode.objects.filter(path__startswith=district.path, level__code="building")
            .order_by("-unit_count", "pk").first())
compound = AreaNode.objects.filter(pk__in=building.ids_on_path, level__is_compound=True).get()
community = AreaNode.objects.filter(pk__in=building.ids_on_path, level__code="community").get()
user = User.objects.filter(username="bench").first()
if user is None:
    user = User.objects.create_user("bench", password=%(password)r, display_name="基准测试")
    RoleAssignment.objects.create(user=user, role="community_worker", node=community)
token, _ = Token.objects.get_or_create(user=user)
print("BENCH" + json.dumps({"compound": compound.pk, "compound_units": compound.unit_count,
      "building": building.pk, "building_units": building.unit_count, "token": token.key,
      "district_units": district.unit_count}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_env(size: int, postgres: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GONGZHI_DEBUG"}  # production-like
    env["GONGZHI_VAR_DIR"] = str(OUT / f"var-{size}")  # its own keys: the data key must match the data
    env["GONGZHI_LOG_LEVEL"] = "ERROR"
    if postgres:
        name = f"gz_bench_pages_{size}"
        env["DATABASE_URL"] = f"{postgres.rstrip('/')}/{name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{OUT / f'pages-{size}.sqlite3'}"
    return env


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


def prepare(size: int, postgres: str | None, fresh: bool) -> tuple[dict[str, str], dict]:
    env = database_env(size, postgres)
    if postgres:
        import psycopg

        name = env["DATABASE_URL"].rsplit("/", 1)[1]
        with psycopg.connect(f"{postgres.rstrip('/')}/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists and fresh:
                conn.execute(f'DROP DATABASE "{name}"')
            if not exists or fresh:
                conn.execute(f'CREATE DATABASE "{name}"')
    elif fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{OUT / f'pages-{size}.sqlite3'}{suffix}").unlink(missing_ok=True)
    manage(env, "migrate", "--noinput", "-v0")
    if not (ROOT / "staticfiles").exists():
        manage(env, "collectstatic", "--noinput", "-v0")
    has_city = manage(
        env,
        "shell",
        "-v0",
        "-c",
        f"from gongzhi.registry.models import AreaNode; "
        f"print('CITY', AreaNode.objects.filter(parent=None, name={DISTRICT!r}).exists())",
        capture=True,
    )
    if "CITY True" not in has_city:
        started = time.monotonic()
        manage(env, "generate_city", "--units", str(size), "--compounds", str(max(1, size // 250)), "--seed", "1")
        print(f"  generated {size} units in {time.monotonic() - started:.0f}s", flush=True)
        # Fresh statistics for the planner, as autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) keep them.
        manage(env, "shell", "-v0", "-c", "from django.db import connection; connection.cursor().execute('ANALYZE')")
    out = manage(env, "shell", "-v0", "-c", SETUP % {"district": DISTRICT, "password": PASSWORD}, capture=True)
    info = json.loads(out.split("BENCH", 1)[1])
    return env, info


class Client:
    """A tiny HTTP client with a cookie jar (sessionid, csrftoken): one fresh connection per request."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        hdrs = {"Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
            hdrs["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        conn.request(method, path, body=data, headers=hdrs)
        response = conn.getresponse()
        content = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        conn.close()
        return response.status, response.headers, content

    def sign_in(self, username: str, password: str) -> None:
        status, _h, page = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        status, headers, _c = self.request(
            "POST", "/accounts/login/", {"username": username, "password": password, "csrfmiddlewaretoken": token}
        )
        if status != 302:
            raise SystemExit(f"sign-in failed ({status})")


def wait_for(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not start")


def measure(pages: dict, n: int, warmup: int) -> dict:
    """Round-robin over the pages (one request each per round), so machine noise falls on all pages alike."""
    times: dict[str, list[float]] = {name: [] for name in pages}
    for round_no in range(warmup + n):
        for name, (client, path, headers) in pages.items():
            started = time.perf_counter()
            status, _h, _c = client.request("GET", path, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}")
            if round_no >= warmup:
                times[name].append(elapsed)
    out = {}
    for name, values in times.items():
        values.sort()
        out[name] = {"median": statistics.median(values), "p95": values[min(len(values) - 1, int(len(values) * 0.95))]}
    return out


def run_size(size: int, args) -> dict:
    print(f"== {size:,} units", flush=True)
    env, info = prepare(size, args.postgres, args.fresh)
    port = free_port()
    server = subprocess.Popen(
        [GUNICORN, "gongzhi.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--log-level", "warning"],
        env=env,
        cwd=ROOT,
    )
    try:
        wait_for(port)
        client = Client(port)
        client.sign_in("bench", PASSWORD)
        token = {"Authorization": f"Token {info['token']}"}
        api = Client(port)  # no session: token only
        pages = {
            "baseline": (client, "/baseline/", None),
            "compound": (client, f"/registry/node/{info['compound']}/", None),
            "building": (client, f"/registry/node/{info['building']}/", None),
            "api units": (api, f"/api/v1/units/?compound={info['compound']}", token),
        }
        load_before = os.getloadavg()[0]
        results = measure(pages, args.requests, args.warmup)
        load = (load_before, os.getloadavg()[0])  # the machine may be shared: ratios hold better than times
        for name, r in results.items():
            print(f"  {name:10s} median {r['median']:6.1f} ms  p95 {r['p95']:6.1f} ms", flush=True)
        print(f"  load average (1 min) {load[0]:.1f} before, {load[1]:.1f} after", flush=True)
        info = {k: v for k, v in info.items() if k != "token"}
        return {"size": size, "info": info, "load_average": load, "pages": results}
    finally:
        server.terminate()
        server.wait(timeout=30)


def table(runs: list[dict]) -> str:
    lines = [
        "| units | page | median ms | p95 ms | × baseline median | × smallest size's median |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    first = runs[0]["pages"]
    for run in runs:
        base = run["pages"]["baseline"]["median"]
        for name, r in run["pages"].items():
            vs_small = r["median"] / first[name]["median"]
            lines.append(
                f"| {run['size']:,} | {name} | {r['median']:.1f} | {r['p95']:.1f} | "
                f"{r['median'] / base:.2f} | {vs_small:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,1000000")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--postgres", metavar="URL", help="server URL without a database name")
    parser.add_argument("--fresh", action="store_true", help="rebuild the databases instead of reusing them")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = [run_size(size, args) for size in sizes]
    print()
    print(
        f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; {args.requests} sequential requests per page "
        f"after {args.warmup} warm-up; gunicorn 2 sync workers"
    )
    print(table(runs))
    ok = all(r["median"] <= 2 * run["pages"]["baseline"]["median"] for run in runs for r in run["pages"].values())
    scale = all(r["median"] <= 1.5 * runs[0]["pages"][n]["median"] for run in runs for n, r in run["pages"].items())
    print(
        f"\nmedian ≤ 2× baseline: {'yes' if ok else 'NO'};  largest size within 1.5× of smallest: {'yes' if scale else 'NO'}"
    )
    (OUT / "pages-results.json").write_text(
        json.dumps(
            {"database": "postgresql" if args.postgres else "sqlite", "requests": args.requests, "runs": runs}, indent=2
        )
    )


if __name__ == "__main__":
    main()
