"""Two web servers, one database: two gunicorn instances on different ports against the same PostgreSQL and
Redis behave as one — sessions, sign-in lockout, a rate limit kept in the database, uploads, scheduled jobs.

Needs real processes and committed data: PostgreSQL (postgres_only) and REDIS_URL. Slow (two gunicorns start).
"""

from __future__ import annotations

import http.cookiejar
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from PIL import Image

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
SH = ZoneInfo("Asia/Shanghai")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """A cookie-keeping client for one user, pointed at either server."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, url: str, data: dict | None = None, files: dict | None = None) -> tuple[int, str, bytes]:
        headers = {"Referer": url}
        body = None
        if files:
            body, ctype = _multipart(data or {}, files)
            headers["Content-Type"] = ctype
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(url, data=body, headers=headers)
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, resp.headers.get("Location", ""), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location", ""), e.read()

    def csrf(self, url: str) -> str:
        status, _, body = self.request(url)
        assert status == 200, (url, status)
        return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for k, v in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    for k, (name, data, ctype) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n".encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def servers(tmp_path):
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("needs PostgreSQL and REDIS_URL")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = dict(
        os.environ,
        DATABASE_URL=url,
        GONGZHI_VAR_DIR=str(tmp_path / "var"),
        GONGZHI_MEDIA_ROOT=str(tmp_path / "shared-uploads"),  # the storage both servers mount
        GONGZHI_SECRET_KEY=settings.SECRET_KEY,
        GONGZHI_DATA_KEY=settings.GONGZHI_DATA_KEY,
        GONGZHI_LOOKUP_KEY=settings.GONGZHI_LOOKUP_KEY,
        GONGZHI_REQUIRE_SECOND_FACTOR="0",
        GONGZHI_SMS_BACKEND="gongzhi.core.sms.FileBackend",
        GONGZHI_TASKS="db",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    procs: list[subprocess.Popen] = []
    bases: list[str] = []

    def start(name: str) -> tuple[subprocess.Popen, str, Path]:
        port = free_port()
        log = tmp_path / f"gunicorn-{name}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "gongzhi.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "2", "--timeout", "60"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
        )  # fmt: skip
        procs.append(proc)
        return proc, f"http://127.0.0.1:{port}", log

    def ready(proc: subprocess.Popen, base: str, log: Path) -> str:
        """Empty when the server answers its sign-in page; otherwise why not (it exited, or never answered)."""
        deadline = time.monotonic() + 120
        last = "no answer"
        while True:
            try:
                with urllib.request.urlopen(base + "/accounts/login/", timeout=20) as r:
                    if r.status == 200:
                        return ""
                    last = f"HTTP {r.status}"
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code}: {e.read()[:300]!r}"
            except OSError as e:  # not listening yet, or too slow to answer the first request
                last = repr(e)
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                return f"gunicorn at {base} did not start (exit {proc.poll()}; last: {last})\n{tail}"
            time.sleep(0.5)

    try:
        for i in range(2):
            # A port found free may be taken before gunicorn binds it (another process's outgoing connection):
            # gunicorn then exits, and the server is started again on another port.
            for attempt in range(3):
                proc, base, log = start(f"{i}-{attempt}")
                problem = ready(proc, base, log)
                if not problem:
                    bases.append(base)
                    break
                if proc.poll() is None:  # running but not answering: a real fault, not a lost port
                    pytest.fail(problem)
            else:
                pytest.fail(problem)
        yield bases, env
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            p.wait(timeout=30)


def test_two_servers_share_sessions_lockout_limits_uploads_and_jobs(servers, mini, persona):
    (a, b), env = servers
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from gongzhi.bulkywaste.limits import REPORTS_PER_HOUR
    from gongzhi.bulkywaste.models import DumpingReport
    from gongzhi.core.auth_backends import is_locked
    from gongzhi.core.models import AuditEntry
    from gongzhi.voting import actions as voting
    from gongzhi.voting.models import Vote
    from testkit import bulkywaste as bw
    from testkit.voting import build_owners_compound
    from testkit.world import PASSWORD

    worker = persona("community_worker")
    victim = persona("community_worker", username="victim")
    # The test settings hash passwords with a fast hasher the servers do not accept: hash as in production.
    type(worker).objects.filter(pk__in=[worker.pk, victim.pk]).update(
        password=PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    )
    bw.service_area(mini.subdistrict)

    # Sessions: signed in on A, still signed in on B (the session is in PostgreSQL, not in A's memory).
    staff = Browser()
    token = staff.csrf(a + "/accounts/login/")
    status, location, body = staff.request(
        a + "/accounts/login/", {"csrfmiddlewaretoken": token, "username": worker.username, "password": PASSWORD}
    )
    assert status == 302 and "login" not in location
    status, _, body = staff.request(b + "/bulky/dumping/")
    assert status == 200 and b"/accounts/logout/" in body
    assert Browser().request(b + "/bulky/dumping/")[0] == 302  # and a stranger is not

    # Sign-in lockout: failures spread over both servers add up; the right password is then refused on both.
    guest = Browser()
    for n in range(5):
        base = (a, b)[n % 2]
        token = guest.csrf(base + "/accounts/login/")
        status, _, _ = guest.request(
            base + "/accounts/login/", {"csrfmiddlewaretoken": token, "username": victim.username, "password": "x"}
        )
        assert status == 200
    assert is_locked(victim.username)  # counted in the shared database (core.limits), not in either process
    for base in (a, b):
        token = guest.csrf(base + "/accounts/login/")
        status, _, _ = guest.request(
            base + "/accounts/login/",
            {"csrfmiddlewaretoken": token, "username": victim.username, "password": PASSWORD},
        )
        assert status == 200  # the form again, not a redirect into the site

    # A rate limit kept in the shared database (core.limits): reports from one address count on both servers;
    # each report's photo is written by one server to the shared storage.
    from django.test import RequestFactory

    from gongzhi.bulkywaste.limits import client_key
    from gongzhi.core import limits

    # Start from a clean count for this address (another test may have reported from it).
    limits.reset((client_key(RequestFactory().get("/", REMOTE_ADDR="127.0.0.1")),))
    img = io.BytesIO()
    Image.new("RGB", (16, 16), "green").save(img, "PNG")
    anonymous = Browser()
    codes = []
    for n in range(REPORTS_PER_HOUR + 1):
        base = (a, b)[n % 2]
        token = anonymous.csrf(base + "/bulky/report/")
        fields = {
            "csrfmiddlewaretoken": token,
            "description": f"楼下有旧沙发 {n}",
            "address": "福华街12号楼下",
            "node": str(mini.community.pk),
        }
        status, _, body = anonymous.request(
            base + "/bulky/report/", fields, files={"photo": ("sofa.png", img.getvalue(), "image/png")}
        )
        codes.append(status)
        assert b"error-summary" not in body
    assert codes == [200] * REPORTS_PER_HOUR + [429]
    assert DumpingReport.objects.count() == REPORTS_PER_HOUR

    # Uploads: a photo received by A is served by B (and the other way round) to the staff member.
    for report in DumpingReport.objects.select_related("photo"):
        status, _, body = staff.request(f"{b}/files/{report.photo.key}/")
        assert status == 200 and body.startswith((b"\x89PNG", b"\xff\xd8"))
        status, _, _ = staff.request(f"{a}/files/{report.photo.key}/")
        assert status == 200

    # Scheduled jobs: the same job started on two machines at once does its work once.
    now = datetime.now(SH)
    compound = build_owners_compound(mini)
    vote = voting.call_vote(
        actor=worker,
        kind=Vote.Kind.OWNER,
        subject="选聘物业服务企业",
        matter="property_company",
        unit_set=compound.unit_set,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=7),
    )
    voting.publish_roll(vote, actor=worker, now=now - timedelta(days=30))
    before = Counter(AuditEntry.objects.filter(action__startswith="voting.").values_list("action", flat=True))

    def job(_):
        return subprocess.run(
            [sys.executable, "manage.py", "advance_votes"], cwd=ROOT, env=env, capture_output=True, timeout=120
        ).returncode

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(job, range(2))) == [0, 0]
    vote.refresh_from_db()
    assert vote.status == Vote.Status.OPEN
    after = Counter(AuditEntry.objects.filter(action__startswith="voting.").values_list("action", flat=True))
    assert after - before == Counter({"voting.open_vote": 1})
