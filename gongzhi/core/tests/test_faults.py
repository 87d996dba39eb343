"""Faults survived: a job whose worker died is found and retried or reported (never left running), and a
database connection the server dropped is replaced before use (no 500, no worker exit)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import psycopg
import pytest
from django.db import connection

from gongzhi.core import jobs
from gongzhi.core.models import JobRun


@pytest.fixture
def handled(monkeypatch):
    calls = []
    monkeypatch.setitem(
        jobs._ON_DEAD, "day_plan", lambda oid, attempts, gave_up: calls.append((oid, attempts, gave_up))
    )
    return calls


@pytest.mark.django_db
def test_a_finished_or_failing_job_is_recorded_and_not_reaped(handled):
    with jobs.tracked("day_plan", 1):
        assert JobRun.objects.get().status == JobRun.Status.RUNNING
    assert JobRun.objects.get().status == JobRun.Status.DONE
    with pytest.raises(ZeroDivisionError), jobs.tracked("day_plan", 2):
        raise ZeroDivisionError
    assert JobRun.objects.get(object_id=2).status == JobRun.Status.FAILED
    assert jobs.reap() == [] and handled == []


@pytest.mark.django_db
def test_a_run_left_running_with_its_lock_free_is_failed_and_retried_then_given_up(handled):
    JobRun.objects.create(kind="day_plan", object_id=7, status=JobRun.Status.RUNNING, attempts=1)
    assert jobs.reap() == [("day_plan", 7, "retried")]
    run = JobRun.objects.get()
    assert run.status == JobRun.Status.FAILED and "died" in run.error
    assert handled == [(7, 1, False)]
    JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.RUNNING, attempts=jobs.MAX_ATTEMPTS)
    assert jobs.reap() == [("day_plan", 7, "reported")]
    assert handled[-1] == (7, jobs.MAX_ATTEMPTS, True)


@pytest.mark.django_db
def test_a_plan_whose_worker_keeps_dying_is_shown_as_failed_not_planning(mini):
    from gongzhi.bulkywaste.actions.planning import _plan_worker_died
    from gongzhi.bulkywaste.models import DayPlan
    from testkit.bulkywaste import service_area

    plan = DayPlan.objects.create(area=service_area(mini.subdistrict), day="2026-12-09")
    _plan_worker_died(plan.pk, jobs.MAX_ATTEMPTS, True)
    plan.refresh_from_db()
    assert plan.status == DayPlan.Status.FAILED and "died" in plan.error


@pytest.mark.skipif(sys.platform != "linux", reason="flock and fork")
@pytest.mark.sqlite_only  # the PostgreSQL variant below kills the worker's connection instead
@pytest.mark.django_db
def test_sqlite_a_worker_process_killed_while_holding_the_job_is_reaped(handled, settings):
    """A real worker process takes the job's lock and is killed with SIGKILL: the kernel frees the flock."""
    JobRun.objects.create(kind="day_plan", object_id=11, status=JobRun.Status.RUNNING, attempts=1)
    code = textwrap.dedent(
        f"""
        import fcntl, os, sys, time
        path = {str(settings.VAR_DIR / "locks" / "day_plan-11.lock")!r}
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("held", flush=True)
        time.sleep(600)
        """
    )
    worker = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "held"
        assert jobs.reap() == []  # the worker is alive and holds it: still running
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        assert jobs.reap() == [("day_plan", 11, "retried")]
    finally:
        if worker.poll() is None:
            worker.kill()
    assert JobRun.objects.get().status == JobRun.Status.FAILED


def terminate(pid: int) -> None:
    """What a database restart or failover does to a connection: pg_terminate_backend from another session."""
    params = connection.get_connection_params()
    with psycopg.connect(
        host=params.get("host"), port=params.get("port"), user=params.get("user"), dbname=params["dbname"]
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_postgres_a_worker_whose_connection_dies_mid_job_is_reaped_and_retried(handled):
    """The worker holds the job's advisory lock on its connection; the server drops that connection (the worker
    died with it): the lock is released, and reap marks the job failed and retries it."""
    held, release = threading.Event(), threading.Event()
    pids = []

    def worker():
        try:
            with jobs.tracked("day_plan", 21):
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_backend_pid()")
                    pids.append(cur.fetchone()[0])
                held.set()
                release.wait(30)
        except Exception:
            pass  # the connection is gone: the worker cannot even record the failure
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    assert held.wait(30)
    assert jobs.reap() == []  # alive: its lock is held
    terminate(pids[0])
    release.set()
    thread.join(30)
    assert JobRun.objects.get(object_id=21).status == JobRun.Status.RUNNING  # what a dead worker leaves behind
    assert jobs.reap() == [("day_plan", 21, "retried")]
    assert JobRun.objects.get(object_id=21).status == JobRun.Status.FAILED and handled == [(21, 1, False)]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_postgres_a_dropped_connection_is_replaced_before_the_next_request(client):
    from django.db import close_old_connections

    assert client.get("/accounts/login/").status_code == 200
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    terminate(pid)
    # Each request starts with close_old_connections (the request_started signal, which Django's test client
    # leaves out so as not to close the test's own connection): called here as the web handler would.
    close_old_connections()
    assert client.get("/accounts/login/").status_code == 200  # not a 500: the health check reconnected
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] != pid


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_postgres_the_task_worker_survives_a_dropped_connection():
    """The worker loop's first step after waking (close_old_connections, then a query) reconnects."""
    from django.db import close_old_connections

    from gongzhi.core.models import RateCounter

    RateCounter.objects.count()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    terminate(pid)
    close_old_connections()
    assert RateCounter.objects.count() == 0
