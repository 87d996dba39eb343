"""Real concurrent writers on PostgreSQL: one order per household and item whatever the race; acceptance and a
new defect never both succeed half-way (the project row lock orders them)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from gongzhi.renovation import actions
from gongzhi.renovation.actions import RenovationError
from gongzhi.renovation.models import Defect, Order, Project
from gongzhi.renovation.tests.builders import build_scene, soon, to_works
from gongzhi.voting.tests.test_ballots_concurrency import race

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers")


def test_ten_answers_for_one_household_make_one_order(mini):
    scene = build_scene(mini)

    def work(i):
        p = Project.objects.get(pk=scene.project.pk)
        return actions.place_order(
            p,
            actor=scene.operator,
            unit=scene.mini.units[1],
            item=scene.pipes,
            agrees=bool(i % 2),
            channel="hotline",
            on_behalf_of=scene.resident_person,
        )

    results, errors = race(10, work)
    assert errors == [None] * 10
    assert Order.objects.filter(project=scene.project).count() == 1


def test_acceptance_racing_a_new_defect_never_accepts_with_it_open(mini):
    scene = build_scene(mini)
    p = to_works(scene)
    work = p.work_items.get()
    actions.report_progress(work, actor=scene.contractor_user, progress=100)
    ok = [{"item": "x", "ok": True}]
    actions.sign_acceptance(work, actor=scene.supervisor_user, signer="supervision", checklist=ok)
    actions.sign_acceptance(work, actor=scene.officer, signer="street_office", checklist=ok)

    def job(i):
        project = Project.objects.get(pk=p.pk)
        if i == 0:
            return actions.accept_project(project, actor=scene.officer)
        return actions.report_defect(
            project, actor=scene.inspector, source="inspector", description="x", deadline=soon()
        )

    results, errors = race(2, job)
    p.refresh_from_db()
    # A report refused after the acceptance: by the action (it read the project in works, then found it accepted
    # under the lock) or, when its thread read the project only after the acceptance committed, by the permission
    # rule (no defect reported on an accepted project) — both refusals, neither a crash.
    assert all(e is None or isinstance(e, RenovationError | PermissionDenied) for e in errors), errors
    if p.stage == "accepted":
        assert not Defect.objects.filter(project=p).exists()  # the defect came after and was refused (not in works)
    else:
        assert Defect.objects.filter(project=p).count() == 1
