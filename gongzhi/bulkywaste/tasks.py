"""Background work of bulky-waste collection (django-tasks), defined beside what it runs and gathered here:
planning a day's rounds (`actions.planning`), sending reminders (`actions.messages`)."""

from __future__ import annotations

from gongzhi.bulkywaste.actions.messages import send_reminders_task
from gongzhi.bulkywaste.actions.planning import plan_day_task

__all__ = ["plan_day_task", "send_reminders_task"]
