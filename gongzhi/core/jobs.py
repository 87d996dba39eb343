"""Background jobs of every kind held by a per-job lock, so a job whose worker died is found, marked failed and
retried (or reported when it keeps dying), never left "running" for ever.

The task wraps its work in `tracked(kind, object_id)`: it takes the job's lock (core.joblocks) first, records
the run as running, and records done or failed before letting go. `reap()` — run by `manage.py reap_jobs`, by the
worker's supervisor before each start (scripts/worker.sh) and on a schedule — probes each run marked running;
a free lock means no worker holds it, so the run is marked failed and the kind's handler decides: queue it again
(up to MAX_ATTEMPTS) or give up and say so where people look (the plan's status, the log).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db.models import F
from django.utils import timezone

from gongzhi.core import joblocks
from gongzhi.core.models import JobRun

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
DIED = "工作进程意外中断 / the worker running this job died"

# kind → handler(object_id, attempts, gave_up) called once a dead run of that kind was found
_ON_DEAD: dict[str, Callable[[int, int, bool], None]] = {}


def on_dead(kind: str):
    """Register what to do when a run of `kind` is found dead: handler(object_id, attempts, gave_up)."""

    def register(handler):
        _ON_DEAD[kind] = handler
        return handler

    return register


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


@contextmanager
def tracked(kind: str, object_id: int) -> Iterator[JobRun]:
    """Run a job under its lock, recorded as running until it ends (done, or failed with the error)."""
    with joblocks.held(kind, object_id):
        run, _ = JobRun.objects.get_or_create(kind=kind, object_id=object_id)
        JobRun.objects.filter(pk=run.pk).update(
            status=JobRun.Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=timezone.now(),
            finished_at=None,
            worker=_worker_name(),
            error="",
        )
        try:
            yield run
        except BaseException as e:
            JobRun.objects.filter(pk=run.pk).update(
                status=JobRun.Status.FAILED, finished_at=timezone.now(), error=repr(e)[:2000]
            )
            raise
        JobRun.objects.filter(pk=run.pk).update(status=JobRun.Status.DONE, finished_at=timezone.now())


def reset_attempts(kind: str, object_id: int) -> None:
    """A fresh request for the job (a new change to plan, a new notice text): its earlier deaths do not count."""
    JobRun.objects.filter(kind=kind, object_id=object_id).exclude(status=JobRun.Status.RUNNING).update(attempts=0)


def reap() -> list[tuple[str, int, str]]:
    """Find runs marked running whose worker is gone; mark them failed and retry or report them."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("tasks")  # the apps' tasks modules register their on_dead handlers
    found = []
    for run in JobRun.objects.filter(status=JobRun.Status.RUNNING).order_by("id"):
        if run.kind not in joblocks.NAMESPACES:
            continue
        with joblocks.probe(run.kind, run.object_id) as free:
            if not free:
                continue  # a worker holds it: still running
            dead = JobRun.objects.filter(pk=run.pk, status=JobRun.Status.RUNNING).update(
                status=JobRun.Status.FAILED, finished_at=timezone.now(), error=DIED
            )
        if not dead:
            continue
        gave_up = run.attempts >= MAX_ATTEMPTS
        logger.error(
            "job %s %s: worker died (attempt %s)%s", run.kind, run.object_id, run.attempts, gave_up * " — gave up"
        )
        handler = _ON_DEAD.get(run.kind)
        if handler is not None:
            handler(run.object_id, run.attempts, gave_up)
        found.append((run.kind, run.object_id, "reported" if gave_up or handler is None else "retried"))
    return found
