"""A lock a background worker holds while it runs a job, so that a page can tell a job still running from one
whose worker died (killed, out of memory, the machine restarted) and would otherwise show "running" for ever.

- PostgreSQL: a session-level advisory lock (namespace, job id) on the worker's connection. The server releases
  it when the connection drops, so this works with workers on other machines.
- SQLite: `flock` on a file under VAR_DIR/locks/. The kernel releases it when the process dies. (An SQLite
  deployment runs on one machine: the database file itself is local.)

The protocol: the worker takes the lock *before* it claims the job and lets go only *after* it has written the
final status. A reader that finds the job marked running probes the lock; if it can take it, no worker holds the
job, and — holding it, so no worker can start or finish meanwhile — it reads the status again before acting.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

# One advisory-lock namespace per kind of job (core.audit uses 0x475A for its chains).
NAMESPACES = {"roster_import": 0x475B, "day_plan": 0x475C, "notice_pdf": 0x475D, "sms": 0x475E}


def _lock_path(kind: str, job_id: int):
    directory = settings.VAR_DIR / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{kind}-{int(job_id)}.lock"


@contextmanager
def held(kind: str, job_id: int) -> Iterator[None]:
    """Hold the job's lock for the block (the worker), waiting if another worker holds it."""
    namespace = NAMESPACES[kind]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s::integer, %s::integer)", [namespace, job_id])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s::integer, %s::integer)", [namespace, job_id])
        return
    path = _lock_path(kind, job_id)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            # Unlinked while still held, once the final status is written: whoever opened it meanwhile finds the
            # job finished (a job is claimed once, so no worker runs it again).
            path.unlink(missing_ok=True)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def probe(kind: str, job_id: int) -> Iterator[bool]:
    """Yields True when no worker holds the job's lock — and then holds it for the block, so no worker can start
    or finish the job meanwhile — or False when a worker holds it."""
    namespace = NAMESPACES[kind]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s::integer, %s::integer)", [namespace, job_id])
            (free,) = cursor.fetchone()
        if not free:
            yield False
            return
        try:
            yield True
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s::integer, %s::integer)", [namespace, job_id])
        return
    path = _lock_path(kind, job_id)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            # Never unlinked here: a worker may already have opened this file and be waiting for it.
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
