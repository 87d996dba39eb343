"""Today's date in Asia/Shanghai — one seam, so tests can set the date the stage rules see."""

from datetime import date

from django.utils import timezone


def today() -> date:
    return timezone.localdate()
