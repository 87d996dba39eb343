"""Background work of the registry (django-tasks): roster imports and their dry runs for large files.

The task is defined beside the jobs it runs (`import_jobs.run_roster_import`), so that queueing a job does not
import this module back; it is named here for the task runner and readers looking for the registry's tasks.
"""

from __future__ import annotations

from gongzhi.registry.import_jobs import run_roster_import

__all__ = ["run_roster_import"]
