from datetime import date

import pytest

from gongzhi.core.calendar import calendar_from
from gongzhi.core.models import CalendarOverride


@pytest.mark.django_db
def test_a_district_override_moves_a_legal_period_end():
    # 2027's holidays are announced after the calendar package a deployment runs: the district records them.
    start = date(2027, 1, 27)
    assert calendar_from(start).period_end(start, 7) == date(2027, 2, 3)  # a Wednesday, a working day
    for day in (date(2027, 2, 3), date(2027, 2, 4)):
        CalendarOverride.objects.create(day=day, is_workday=False, note="春节")
    assert calendar_from(start).period_end(start, 7) == date(2027, 2, 5)
    CalendarOverride.objects.create(day=date(2027, 1, 30), is_workday=True, note="调休上班")
    assert calendar_from(start).is_workday(date(2027, 1, 30))


@pytest.mark.django_db
def test_only_a_district_admin_sets_overrides_and_each_change_is_audited(persona, mini):
    from django.core.exceptions import PermissionDenied

    from gongzhi.core import actions
    from gongzhi.core.audit import verify
    from gongzhi.core.models import AuditEntry

    worker = persona("community_worker")
    with pytest.raises(PermissionDenied):
        actions.set_calendar_override(actor=worker, day=date(2027, 2, 4), is_workday=False)
    admin = persona("district_admin", mini.district)
    override = actions.set_calendar_override(actor=admin, day=date(2027, 2, 4), is_workday=False, note="春节")
    assert AuditEntry.objects.filter(action="core.set_calendar_override", actor=admin).exists()
    actions.remove_calendar_override(override, actor=admin)
    assert not CalendarOverride.objects.exists()
    assert list(verify()) == []
