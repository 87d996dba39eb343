"""Background work of the registry (django-tasks): roster imports and their dry runs for large files."""

from __future__ import annotations

from django_tasks import task


@task()
def run_roster_import(job_id: int) -> str:
    """Run one queued `ImportJob` through the importer; returns the job's final status ("done", "failed")."""
    from gongzhi.registry.import_jobs import run_job

    return run_job(job_id)
