"""Background work of bulky-waste collection (django-tasks): planning a day's rounds, sending reminders."""

from __future__ import annotations

from django_tasks import task

from gongzhi.core import jobs


@task()
def plan_day_task(plan_id: int, as_of: str | None = None) -> int:
    """Solve and store one area's day as of `as_of` (ISO time of the change; now if None); returns the rounds."""
    from datetime import datetime

    from gongzhi.bulkywaste.actions import plan_day
    from gongzhi.bulkywaste.models import DayPlan

    try:
        with jobs.tracked("day_plan", plan_id):  # held while planning: a dead worker is found by jobs.reap
            plan = plan_day(plan_id, now=datetime.fromisoformat(as_of) if as_of else None)
    except Exception as e:
        # Keep the dispatcher informed: the page shows the plan as failed with the error.
        DayPlan.objects.filter(pk=plan_id).update(status=DayPlan.Status.FAILED, error=str(e)[:2000])
        raise
    return plan.rounds.count()


@jobs.on_dead("day_plan")
def _plan_worker_died(plan_id: int, attempts: int, gave_up: bool) -> None:
    from gongzhi.bulkywaste.models import DayPlan

    if gave_up:
        DayPlan.objects.filter(pk=plan_id).update(status=DayPlan.Status.FAILED, error=jobs.DIED)
    else:
        plan_day_task.enqueue(plan_id, None)


@task()
def send_reminders_task() -> int:
    from gongzhi.bulkywaste.actions import send_reminders

    return send_reminders()
