"""Roster imports as background jobs: the private stash of uploaded files, the job actions, and running a job.

A 10,000-unit file takes longer to write than a web request may last, so the pages and the API stash the
uploaded bytes, record an `ImportJob` and let the task worker run `importer.import_roster` (the same action,
the same all-or-nothing transaction, the same audit entries, the permission checked again for the actor).
A small file's dry run is still checked inline and recorded as a finished job, so the review step reads one
kind of record whatever the size.

The stash is a private directory, MEDIA_ROOT/roster-imports/ (the private uploads' storage, which every web and
task worker mounts), one `<token>.bin` per upload, deleted when its import has run and otherwise after an hour.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import task

from gongzhi.core import audit, joblocks
from gongzhi.core.gate import require
from gongzhi.registry.importer import ImportReport, RosterFileError, import_roster
from gongzhi.registry.models import AreaNode, ImportJob

logger = logging.getLogger(__name__)

STASH_SECONDS = 3600
BACKGROUND_ROWS = 2000  # a dry run of a larger file runs on the task worker too (10,000 xlsx rows: ~7 s)
MAX_STORED_ERRORS = 10_000  # per job; the page shows 500, the problems CSV all of these
MAX_STORED_WARNINGS = 1_000
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")

Status = ImportJob.Status

# Why a job did not finish, Chinese and English (shown on the page and in the API; never a traceback).
EXPIRED = (
    "上传的文件已过期或已删除，未写入任何数据，请重新上传",
    "the uploaded file has expired: nothing was written, upload it again",
)
FORBIDDEN = ("您没有权限导入到这个楼院，未写入任何数据", "you may not import into this compound: nothing was written")
BAD_ROWS = ("花名册有问题的行，未写入任何数据", "the roster has bad rows: nothing was written")
BAD_HEADER = ("花名册列名有误，未写入任何数据", "the roster's columns are wrong: nothing was written")
CRASHED = (
    "导入时出错，未写入任何数据。请稍后重试，或联系管理员",
    "the import failed: nothing was written. Try again later or ask the administrator",
)
INTERRUPTED = (
    "导入中断（处理程序意外停止），未写入任何数据，请重新导入",
    "the import was interrupted (its worker stopped): nothing was written, import again",
)
NO_QUEUE = (
    "任务队列暂时不可用，未写入任何数据，请稍后重试",
    "the task queue is unavailable: nothing was written, try later",
)


# --- The stash ---------------------------------------------------------------------------------------------


def _stash_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "roster-imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _data_path(token: str) -> Path:
    if not TOKEN.match(token):
        raise ValueError("bad stash token")
    return _stash_dir() / f"{token}.bin"


def stash(data: bytes) -> str:
    """Keep an uploaded file privately (mode 0600) and return the random token that names it."""
    purge_expired()
    token = secrets.token_urlsafe(24)
    fd = os.open(_data_path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return token


def load_data(token: str) -> bytes | None:
    try:
        return _data_path(token).read_bytes()
    except (FileNotFoundError, ValueError):
        return None


def has_data(token: str) -> bool:
    try:
        return _data_path(token).exists()
    except ValueError:
        return False


def drop_data(token: str) -> None:
    try:
        _data_path(token).unlink(missing_ok=True)
    except ValueError:
        pass


def purge_expired(now: float | None = None) -> None:
    """Delete stashed files older than an hour, except those a queued or running job still needs."""
    limit = (now or time.time()) - STASH_SECONDS
    old = []
    legacy = Path(settings.VAR_DIR) / "imports"  # where the stash was before imports became jobs
    for item in [*_stash_dir().iterdir(), *(legacy.iterdir() if legacy.is_dir() else ())]:
        try:
            if item.stat().st_mtime < limit:
                old.append(item)
        except FileNotFoundError:
            pass
    if not old:
        return
    waiting = set(ImportJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING]).values_list("token", flat=True))
    for item in old:
        if item.stem not in waiting:
            item.unlink(missing_ok=True)


# --- Actions ------------------------------------------------------------------------------------------------


def stored_report(report: ImportReport | dict) -> dict:
    """The report as kept on the job: counts and row/column/reason per problem, capped for huge files."""
    body = report.as_dict() if isinstance(report, ImportReport) else dict(report)
    for key, limit in (("errors", MAX_STORED_ERRORS), ("warnings", MAX_STORED_WARNINGS)):
        items = body.get(key) or []
        body[key], body[f"{key}_total"] = items[:limit], len(items)
    return body


def _check(actor, compound: AreaNode) -> None:
    require(actor, "registry.import_roster", compound)
    if not compound.level.is_compound:
        raise ValueError(f"{compound} is not a compound")


@transaction.atomic
def record_dry_run(compound: AreaNode, token: str, report: ImportReport, *, actor, filename: str = "") -> ImportJob:
    """A dry run checked inline (a small file): recorded as a finished job, so the review step reads it back."""
    _check(actor, compound)
    now = timezone.now()
    return ImportJob.objects.create(
        created_by=actor,
        compound=compound,
        scope_path=compound.path,
        token=token,
        filename=filename[:200],
        sha256=report.sha256,
        size=report.size,
        dry_run=True,
        skip_bad_rows=report.skip_bad_rows,
        status=Status.DONE,
        report=stored_report(report),
        started_at=now,
        finished_at=now,
    )


@transaction.atomic
def queue_import(
    compound: AreaNode, token: str, *, actor, dry_run: bool, skip_bad_rows: bool = False, filename: str = ""
) -> tuple[ImportJob, bool]:
    """Record the job for a stashed file and queue it once this transaction commits; (job, created).

    At most one dry run and one import per stashed file, held by a unique constraint: pressing 确认导入 twice,
    or two requests racing, gets the first job back and queues nothing more. Raises PermissionDenied,
    ValueError (not a compound) or FileNotFoundError (the stash has expired).
    """
    _check(actor, compound)
    existing = ImportJob.objects.filter(token=token, dry_run=dry_run).first()
    if existing is not None:
        return existing, False
    data = load_data(token)
    if data is None:
        raise FileNotFoundError(token)
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                created_by=actor,
                compound=compound,
                scope_path=compound.path,
                token=token,
                filename=filename[:200],
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                dry_run=dry_run,
                skip_bad_rows=skip_bad_rows,
            )
    except IntegrityError:  # the other request's job committed first
        return ImportJob.objects.get(token=token, dry_run=dry_run), False
    if not dry_run:
        audit.record(
            "registry.import_roster.queue",
            compound,
            actor=actor,
            changes={"job": job.pk, "sha256": job.sha256, "size": job.size, "skip_bad_rows": skip_bad_rows},
        )
    job_id = job.pk
    transaction.on_commit(lambda: enqueue(job_id))
    return job, True


def enqueue(job_id: int) -> None:
    """Hand the job to the task backend; a queue that cannot take it fails the job with a message."""
    try:
        result = run_roster_import.enqueue(job_id)
    except Exception:
        logger.exception("could not queue roster import job %s", job_id)
        _finish(job_id, Status.FAILED, message=NO_QUEUE, only_if=Status.QUEUED)
        return
    # Job bookkeeping (not a registry change): which task result runs it.
    ImportJob.objects.filter(pk=job_id).update(task_result_id=str(result.id)[:64])


def _finish(job_id: int, status: str, *, report: dict | None = None, message=("", ""), only_if=None) -> None:
    rows = ImportJob.objects.filter(pk=job_id)
    if only_if:
        rows = rows.filter(status=only_if)
    rows.update(status=status, report=report, message=message[0], message_en=message[1], finished_at=timezone.now())


def run_job(job_id: int) -> str:
    """Run a queued job (called by the task). Claims it first, so a job delivered twice runs once; holds the job's
    lock from before the claim until the final status is written (see core.joblocks and `sync_with_task`)."""
    with joblocks.held("roster_import", job_id):
        claimed = ImportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
            status=Status.RUNNING, started_at=timezone.now()
        )
        if not claimed:
            return "skipped"
        return _run_claimed(job_id)


def _run_claimed(job_id: int) -> str:
    job = ImportJob.objects.select_related("compound__level", "created_by").get(pk=job_id)
    status, report, message = Status.FAILED, None, CRASHED
    try:
        data = load_data(job.token)
        actor = job.created_by
        if data is None:
            message = EXPIRED
        elif actor is None or not actor.is_active:
            message = FORBIDDEN
        else:
            result = import_roster(
                job.compound, data, actor=actor, dry_run=job.dry_run, skip_bad_rows=job.skip_bad_rows
            )
            report = stored_report(result)
            if result.dry_run or result.written:
                status, message = Status.DONE, ("", "")
            else:
                message = BAD_HEADER if result.fatal else BAD_ROWS
    except PermissionDenied:  # the actor lost the role since queueing
        message = FORBIDDEN
    except RosterFileError as e:
        message = (e.zh, e.en)
    except Exception:
        logger.exception("roster import job %s failed", job_id)
    finally:
        if not job.dry_run:
            drop_data(job.token)  # imported or not, the file is not needed again
    _finish(job_id, status, report=report, message=message)
    return status


# --- Reads --------------------------------------------------------------------------------------------------


def sync_with_task(job: ImportJob) -> ImportJob:
    """A job whose task failed outside `run_job` (the worker could not import or call it), or whose worker died
    while running it (its lock is free though the job says running), is marked failed."""
    if job.status == Status.RUNNING:
        with joblocks.probe("roster_import", job.pk) as free:
            if free:  # no worker holds it; holding it now, the status can no longer change under us
                _finish(job.pk, Status.FAILED, message=INTERRUPTED, only_if=Status.RUNNING)
                job.refresh_from_db()
                return job
    if job.finished or not job.task_result_id:
        return job
    from django_tasks.base import TaskResultStatus
    from django_tasks.exceptions import TaskResultDoesNotExist

    if not run_roster_import.get_backend().supports_get_result:
        return job
    try:
        result = run_roster_import.get_result(job.task_result_id)
    except (TaskResultDoesNotExist, ValueError):
        return job
    if result.status == TaskResultStatus.FAILED:
        _finish(job.pk, Status.FAILED, message=CRASHED, only_if=job.status)
        job.refresh_from_db()
    return job


def stash_expired(job: ImportJob) -> bool:
    return job.created_at < timezone.now() - timedelta(seconds=STASH_SECONDS) or not has_data(job.token)


@task()
def run_roster_import(job_id: int) -> str:
    """The background task: run one queued `ImportJob` through the importer; returns its final status."""
    return run_job(job_id)
