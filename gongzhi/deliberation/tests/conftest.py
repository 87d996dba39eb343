from datetime import date

import pytest


@pytest.fixture
def set_today(monkeypatch):
    """set_today(date(2026, 9, 24)) → the stage rules and actions see that date as today."""
    from gongzhi.deliberation import clock

    def set_(day: date):
        monkeypatch.setattr(clock, "today", lambda: day)
        return day

    return set_


@pytest.fixture
def scene(db, mini, set_today):
    from gongzhi.deliberation.tests.builders import build_scene

    set_today(date(2026, 9, 1))
    return build_scene(mini)
