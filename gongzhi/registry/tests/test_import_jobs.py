"""Roster imports as background jobs: the self-refreshing status page, who may see a job, one job per confirmation,
bilingual failures without tracebacks, no personal values in the report, the large-file dry run, the DB worker."""

from __future__ import annotations

import json
import re
import threading
from contextlib import contextmanager

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from gongzhi.core import joblocks
from gongzhi.core.models import AuditEntry
from gongzhi.registry import import_jobs
from gongzhi.registry.importer import estimate_rows
from gongzhi.registry.models import ImportJob, Person, Unit
from gongzhi.registry.tests.roster_files import csv_bytes, resident_id, row, xlsx_bytes
from gongzhi.registry.tests.test_import import good_rows, snapshot

B = "2号楼"


@pytest.fixture
def worker(persona):
    return persona("community_worker")


# The refresh is a meta tag: the page needs no script of its own (site.js, on every page, only enhances).
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)")


def queued_job(compound, actor, data: bytes | None = None, dry_run: bool = False) -> ImportJob:
    """A job as the worker finds it: recorded and queued, not yet run (on_commit never ran in this test)."""
    token = import_jobs.stash(data or csv_bytes(good_rows()))
    job, created = import_jobs.queue_import(compound, token, actor=actor, dry_run=dry_run, filename="roster.csv")
    assert created and job.status == ImportJob.Status.QUEUED
    return job


@contextmanager
def live_worker(job: ImportJob):
    """A worker (another thread, with its own database connection) holding the job's lock, as while it runs."""
    taken, done = threading.Event(), threading.Event()

    def hold():
        try:
            with joblocks.held("roster_import", job.pk):
                taken.set()
                done.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(30)
    try:
        yield
    finally:
        done.set()
        thread.join(30)


def job_page(client, job: ImportJob):
    return client.get(reverse("registry:import-job", kwargs={"pk": job.pk}))


# --- The status page ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_queued_or_running_job_page_refreshes_itself_every_3_seconds_without_javascript(client, mini, worker):
    job = queued_job(mini.courtyard, worker)
    client.force_login(worker)
    page = job_page(client, job)
    html = page.content.decode()
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="3">' in html
    assert "正在导入花名册" in html and "排队中" in html and not INLINE_SCRIPT.search(html)
    assert not Unit.objects.filter(number="商1").exists()

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    with live_worker(job):
        html = job_page(client, job).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in html and "正在处理" in html

    assert import_jobs.run_job(job.pk) == "skipped"  # running already (another worker has it): not run twice
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    assert import_jobs.run_job(job.pk) == ImportJob.Status.DONE  # what the worker does
    html = job_page(client, job).content.decode()
    assert 'http-equiv="refresh"' not in html and "花名册已导入" in html
    job.refresh_from_db()
    assert f"<strong>{job.report['audit_id']}</strong>" in html  # the reference number
    assert Unit.objects.filter(number="商1").exists()
    assert import_jobs.load_data(job.token) is None  # stash cleaned up


@pytest.mark.django_db
def test_automatic_refreshes_do_not_extend_the_session_nor_write_it(client, mini, worker):
    from django.contrib.sessions.models import Session

    job = queued_job(mini.courtyard, worker)
    client.force_login(worker)
    key = client.session.session_key

    def expiry():
        return Session.objects.get(session_key=key).expire_date

    before = expiry()
    job_page(client, job)
    job_page(client, job)
    assert expiry() == before  # not activity: the idle timeout runs on
    import_jobs.run_job(job.pk)
    job_page(client, job)
    assert expiry() > before  # looking at the result is


@pytest.mark.django_db
def test_a_job_is_seen_by_its_creator_and_by_staff_who_may_import_there_and_by_no_one_else(client, mini, persona):
    creator = persona("community_worker")
    job = queued_job(mini.courtyard, creator)
    import_jobs.run_job(job.pk)
    colleague = persona("community_worker", username="colleague")  # same community: may import there
    street = persona("subdistrict_staff", mini.subdistrict)
    operator = persona("hotline_operator")  # staff in the community, but not one who imports rosters
    stranger = persona("community_worker", mini.other_subdistrict)
    resident = persona("resident", mini.courtyard)
    problems = reverse("registry:import-problems", kwargs={"pk": job.pk})
    for user, seen in (
        (creator, True),
        (colleague, True),
        (street, True),
        (operator, False),
        (stranger, False),
        (resident, False),
    ):
        client.force_login(user)
        assert job_page(client, job).status_code == (200 if seen else 404), user
        assert client.get(problems).status_code == (200 if seen else 404), user
    client.logout()
    assert job_page(client, job).status_code == 302  # to the sign-in page


@pytest.mark.django_db
def test_the_review_and_confirmation_belong_to_the_uploader_only(client, mini, persona):
    owner, colleague = persona("community_worker"), persona("community_worker", username="colleague")
    client.force_login(owner)
    review_url = client.post(
        reverse("registry:import"),
        {"compound": mini.courtyard.pk, "file": SimpleUploadedFile("r.csv", csv_bytes(good_rows()))},
    )["Location"]
    client.force_login(colleague)
    assert client.post(review_url).status_code == 404
    assert not ImportJob.objects.filter(dry_run=False).exists()


# --- One confirmation, one job ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pressing_confirm_twice_queues_one_import(
    client, mini, worker, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    real_enqueue = import_jobs.enqueue
    monkeypatch.setattr(import_jobs, "enqueue", lambda job_id: queued.append(job_id))
    client.force_login(worker)
    review_url = client.post(
        reverse("registry:import"),
        {"compound": mini.courtyard.pk, "file": SimpleUploadedFile("r.csv", csv_bytes(good_rows()))},
    )["Location"]
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(review_url)
        second = client.post(review_url)  # the job is still queued: the worker has not run it
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    [job] = ImportJob.objects.filter(dry_run=False)
    assert queued == [job.pk]
    assert AuditEntry.objects.filter(action="registry.import_roster.queue").count() == 1

    # The same file's token through the action again: the first job back, nothing queued.
    again, created = import_jobs.queue_import(mini.courtyard, job.token, actor=worker, dry_run=False)
    assert (again.pk, created) == (job.pk, False) and queued == [job.pk]

    real_enqueue(job.pk)  # the immediate backend runs it now
    real_enqueue(job.pk)  # delivered twice: the second run finds it claimed and does nothing
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert AuditEntry.objects.filter(action="registry.import_roster").count() == 1


@pytest.mark.django_db
def test_the_unique_constraint_holds_without_the_check(mini, worker):
    from django.db import IntegrityError, transaction

    job = queued_job(mini.courtyard, worker)
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportJob.objects.create(
            created_by=worker,
            compound=mini.courtyard,
            scope_path=mini.courtyard.path,
            token=job.token,
            sha256=job.sha256,
            size=job.size,
            dry_run=False,
        )


# --- Failures: a bilingual reason, nothing written, no traceback ------------------------------------------------


@pytest.mark.django_db
def test_failures_record_a_bilingual_reason_and_write_nothing(client, mini, persona, monkeypatch):
    from gongzhi.core.models import RoleAssignment

    worker = persona("community_worker")
    client.force_login(worker)
    before = snapshot(mini.courtyard)

    gone = queued_job(mini.courtyard, worker)
    import_jobs.drop_data(gone.token)  # the stash expired before the worker came
    revoked = queued_job(mini.courtyard, worker)
    crashed = queued_job(mini.courtyard, worker)

    import_jobs.run_job(gone.pk)
    RoleAssignment.objects.filter(user=worker).delete()  # the role was taken away after queueing
    import_jobs.run_job(revoked.pk)

    monkeypatch.setattr(import_jobs, "import_roster", lambda *a, **k: 1 / 0)
    import_jobs.run_job(crashed.pk)

    expected = {gone.pk: import_jobs.EXPIRED, revoked.pk: import_jobs.FORBIDDEN, crashed.pk: import_jobs.CRASHED}
    for pk, (zh, en) in expected.items():
        job = ImportJob.objects.get(pk=pk)
        assert (job.status, job.message, job.message_en) == (ImportJob.Status.FAILED, zh, en)
        assert job.finished_at and not import_jobs.has_data(job.token)
    assert snapshot(mini.courtyard) == before

    html = job_page(client, crashed).content.decode()  # the creator still sees the job, role or not
    assert "导入时出错，未写入任何数据" in html and "Traceback" not in html and "ZeroDivision" not in html
    client.cookies["django_language"] = "en"
    assert "the import failed: nothing was written" in job_page(client, crashed).content.decode()


@pytest.mark.django_db
def test_a_queue_that_cannot_take_the_job_fails_it_with_a_message(mini, worker, monkeypatch):
    class Unreachable:
        def enqueue(self, *args):
            raise ConnectionError("redis down")

    monkeypatch.setattr(import_jobs, "run_roster_import", Unreachable())  # the task lives beside the jobs
    job = queued_job(mini.courtyard, worker)
    import_jobs.enqueue(job.pk)
    job.refresh_from_db()
    assert (job.status, job.message) == (ImportJob.Status.FAILED, import_jobs.NO_QUEUE[0])


# --- The report holds no personal values -----------------------------------------------------------------------


PERSONAL_ROWS = [
    row(building=B, number="101", area_registered="70", name="欧阳建华", relation="业主", phone="13912345678"),
    row(building=B, number="102", area_registered="70", name="司马秀英", relation="业主", phone="1391234"),  # bad
    row(
        building=B,
        number="103",
        area_registered="70",
        name="上官美玲",
        relation="业主",
        id_number=resident_id("19480101", "777")[:-1] + ("0" if resident_id("19480101", "777")[-1] != "0" else "1"),
    ),  # bad check digit
    row(building=B, number="104", area_registered="70", name="诸葛明", relation="诸葛亮13900001111"),  # bad relation
    row(building=B, number="105", area_registered="70", name="令狐冲", kind="13800002222", relation="业主"),  # bad kind
    row(building=B, number="106", area_registered="70", name="东方白", relation="业主", id_number=resident_id()),
]


@pytest.mark.django_db
def test_the_kept_report_names_rows_columns_and_reasons_but_no_personal_values(mini, worker, client):
    job = queued_job(mini.courtyard, worker, csv_bytes(PERSONAL_ROWS))
    import_jobs.run_job(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.message == import_jobs.BAD_ROWS[0]
    assert {(e["row"], e["column"]) for e in job.report["errors"]} == {
        (3, "phone"),
        (4, "id_number"),
        (5, "relation"),
        (6, "kind"),
    }
    kept = json.dumps(job.report, ensure_ascii=False) + job.message + job.message_en
    client.force_login(worker)
    shown = job_page(client, job).content.decode()
    for r in PERSONAL_ROWS:
        for key in ("name", "phone", "id_number", "relation", "kind"):
            value = r.get(key)
            if value and value not in ("业主",):
                assert value not in kept, (key, value)
                assert value not in shown, (key, value)
    for fragment in ("1391234", "诸葛亮", "13900001111", "13800002222", resident_id()[6:14]):
        assert fragment not in kept


# --- Large files: the dry run goes to the worker too ---------------------------------------------------------


def test_estimate_rows_reads_line_breaks_and_the_xlsx_dimension_without_parsing():
    rows = [row(building=B, number=str(100 + i), area_registered="50") for i in range(30)]
    assert estimate_rows(csv_bytes(rows)) == 31
    assert estimate_rows(xlsx_bytes(rows)) == 31
    assert estimate_rows(b"\xd0\xcf\x11\xe0old") == 0 and estimate_rows(b"PK\x03\x04broken") == 0


@pytest.mark.django_db
def test_a_large_file_is_checked_on_the_worker_then_reviewed_and_imported(
    client, mini, worker, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(import_jobs, "BACKGROUND_ROWS", 3)  # good_rows() has 5: "large" here
    client.force_login(worker)
    post = {"compound": mini.courtyard.pk, "file": SimpleUploadedFile("big.xlsx", xlsx_bytes(good_rows()))}
    queued = client.post(reverse("registry:import"), post)
    assert queued.status_code == 302 and "/import/job/" in queued["Location"]
    dry = ImportJob.objects.get(dry_run=True)
    assert dry.status == ImportJob.Status.QUEUED and dry.filename == "big.xlsx"
    assert 'content="3"' in client.get(queued["Location"]).content.decode()

    import_jobs.run_job(dry.pk)  # the worker checks it
    review = client.get(queued["Location"])
    assert review.status_code == 302 and review["Location"] == reverse("registry:import-review", args=[dry.token])
    assert "全部通过" in client.get(review["Location"]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(review["Location"])
    assert "花名册已导入" in client.get(done["Location"]).content.decode()
    assert Unit.objects.filter(number="商1").exists() and Person.objects.filter(name="赵大").exists()


@pytest.mark.django_db
def test_api_large_dry_run_is_202_and_small_one_200(
    mini, worker, persona, monkeypatch, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(worker)

    def post():
        return api.post(
            "/api/v1/roster-imports/",
            {"compound": mini.courtyard.pk, "file": SimpleUploadedFile("r.csv", csv_bytes(good_rows()))},
            format="multipart",
        )

    assert post().status_code == 200
    monkeypatch.setattr(import_jobs, "BACKGROUND_ROWS", 3)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = post()
    assert accepted.status_code == 202 and accepted.json()["dry_run"] is True
    status = api.get(accepted.json()["status_url"]).json()
    assert status["status"] == "done" and status["report"]["summary"]["units_new"] == 3
    assert not Unit.objects.filter(number="商1").exists()

    stranger = APIClient()
    stranger.force_authenticate(persona("community_worker", mini.other_subdistrict))
    response = stranger.get(accepted.json()["status_url"])
    assert response.status_code == 404 and response.json()["message_en"] == "not found"
    assert APIClient().get(accepted.json()["status_url"]).status_code == 401


# --- The database worker, for real -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # real commits, seen by the worker
def test_the_database_backend_queues_the_job_and_db_worker_runs_it(mini, worker, settings):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    token = import_jobs.stash(csv_bytes(good_rows()))
    job, _ = import_jobs.queue_import(mini.courtyard, token, actor=worker, dry_run=False)  # enqueued on commit
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED and job.task_result_id
    assert DBTaskResult.objects.get(id=job.task_result_id).status == "READY"
    assert not Unit.objects.filter(number="商1").exists()

    call_command("db_worker", batch=True, interval=0, startup_delay=False, verbosity=0)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.report["written"]
    assert DBTaskResult.objects.get(id=job.task_result_id).status == "SUCCESSFUL"
    assert Unit.objects.filter(number="商1").exists()


@pytest.mark.django_db
def test_a_task_that_failed_outside_the_job_code_marks_the_job_failed(mini, worker, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    job = queued_job(mini.courtyard, worker)
    import_jobs.enqueue(job.pk)
    job.refresh_from_db()
    DBTaskResult.objects.filter(id=job.task_result_id).update(status="FAILED")  # e.g. the worker could not load it
    job = import_jobs.sync_with_task(job)
    assert job.status == ImportJob.Status.FAILED and job.message == import_jobs.CRASHED[0]


@pytest.mark.django_db
def test_the_status_page_in_english_and_its_query_budget(client, mini, worker, django_assert_max_num_queries):
    job = queued_job(mini.courtyard, worker)
    client.force_login(worker)
    client.cookies["django_language"] = "en"
    html = job_page(client, job).content.decode()
    assert "Importing the roster" in html and "refreshes itself every 3 seconds" in html and "Queued" in html
    import_jobs.run_job(job.pk)
    with django_assert_max_num_queries(8):  # session, user, roles, the job: whatever the report's size
        assert "Roster imported" in job_page(client, job).content.decode()


# --- Two confirmations racing on PostgreSQL: the unique constraint decides ------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_racing_confirmations_make_one_job(mini, worker, monkeypatch):
    import threading

    from django.db import connection

    monkeypatch.setattr(import_jobs, "enqueue", lambda job_id: None)  # the race is about recording the job
    token = import_jobs.stash(csv_bytes(good_rows()))
    # Both requests find no job yet, then both insert: the second waits for the first and hits the constraint.
    real_filter = ImportJob.objects.filter
    barrier = threading.Barrier(2, timeout=10)
    results, errors = [], []

    def racing_filter(*args, **kwargs):
        qs = real_filter(*args, **kwargs)
        if kwargs.get("token") == token:
            first = list(qs)
            barrier.wait()
            return real_filter(pk__in=[j.pk for j in first])
        return qs

    monkeypatch.setattr(ImportJob.objects, "filter", racing_filter)

    def confirm():
        try:
            results.append(import_jobs.queue_import(mini.courtyard, token, actor=worker, dry_run=False))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(created for _, created in results) == [False, True]
    assert len({job.pk for job, _ in results}) == 1 and ImportJob.objects.filter(dry_run=False).count() == 1


# --- A worker that died --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_shown_as_interrupted_and_nothing_was_written(client, mini, worker):
    """Killed mid-import, the worker's transaction rolled back and its lock went with its process or connection."""
    job = queued_job(mini.courtyard, worker)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)  # claimed, then the worker died
    client.force_login(worker)
    html = job_page(client, job).content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.message == import_jobs.INTERRUPTED[0]
    assert job.message_en == import_jobs.INTERRUPTED[1] and job.finished_at is not None
    assert "导入中断" in html and '<meta http-equiv="refresh"' not in html
    assert not Unit.objects.filter(number="商1").exists()
    assert import_jobs.run_job(job.pk) == "skipped"  # a late redelivery does not run it after all


@pytest.mark.django_db
def test_a_job_whose_worker_is_alive_stays_running_in_the_page_and_the_api(client, mini, worker):
    job = queued_job(mini.courtyard, worker)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    client.force_login(worker)
    with live_worker(job):
        for _ in range(2):
            assert "正在处理" in job_page(client, job).content.decode()
            assert client.get(f"/api/v1/roster-imports/{job.pk}/").json()["status"] == "running"
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING


@pytest.mark.django_db
def test_the_worker_holds_the_lock_from_before_the_claim_until_the_final_status(mini, worker, monkeypatch):
    job = queued_job(mini.courtyard, worker)
    seen = []
    real = import_jobs._finish

    def finish(job_id, status, **kw):
        seen.append(_probe_elsewhere(job_id))  # a page looking while the worker writes the end
        real(job_id, status, **kw)

    monkeypatch.setattr(import_jobs, "_finish", finish)
    assert import_jobs.run_job(job.pk) == ImportJob.Status.DONE
    assert seen == [False]
    with joblocks.probe("roster_import", job.pk) as free:
        assert free  # released once done


def _probe_elsewhere(job_id: int) -> bool:
    """Probe from another thread (its own database session: a PostgreSQL session may retake its own lock)."""
    out = []

    def look():
        try:
            with joblocks.probe("roster_import", job_id) as free:
                out.append(free)
        finally:
            connection.close()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join(30)
    return out[0]
