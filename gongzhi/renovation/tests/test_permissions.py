"""Role × stage: who may do what on a project at each stage (the gate's answers, as one table)."""

from __future__ import annotations

import pytest

from gongzhi.core.gate import allows
from gongzhi.renovation.models import Project
from gongzhi.renovation.tests.builders import build_scene

pytestmark = pytest.mark.django_db

WHO = [
    "officer",
    "operator",
    "inspector",
    "contractor_user",
    "other_contractor",
    "supervisor_user",
    "resident",
    "outsider",
]

# permission → stage → the people allowed
EXPECTED = {
    "renovation.view_project": {
        s: {"officer", "operator", "inspector", "contractor_user", "other_contractor", "supervisor_user", "resident"}
        for s in ("ordering", "works", "accepted")
    },
    "renovation.order": {"ordering": {"resident"}, "works": set(), "accepted": set()},
    "renovation.take_order": {"ordering": {"officer", "operator", "inspector"}, "works": set(), "accepted": set()},
    "renovation.adopt_plan": {"ordering": {"officer", "inspector"}, "works": set(), "accepted": set()},
    "renovation.change_project": {
        "ordering": {"officer", "inspector"},
        "works": {"officer", "inspector"},
        "accepted": set(),
    },
    "renovation.report_progress": {
        "ordering": set(),
        "works": {"officer", "inspector", "contractor_user"},
        "accepted": set(),
    },
    "renovation.inspect": {"ordering": set(), "works": {"officer", "inspector"}, "accepted": set()},
    "renovation.report_defect": {
        "ordering": set(),
        "works": {"officer", "operator", "inspector", "supervisor_user", "resident"},
        "accepted": set(),
    },
    "renovation.sign_as_supervision": {"ordering": set(), "works": {"supervisor_user"}, "accepted": set()},
    "renovation.sign_as_street_office": {"ordering": set(), "works": {"officer", "inspector"}, "accepted": set()},
    "renovation.accept_project": {"ordering": set(), "works": {"officer", "inspector"}, "accepted": set()},
}


@pytest.mark.parametrize("stage", ["ordering", "works", "accepted"])
def test_role_by_stage_matrix(mini, stage):
    scene = build_scene(mini)
    project = scene.project
    Project.objects.filter(pk=project.pk).update(stage=stage)
    project.refresh_from_db()
    got = {}
    for perm, by_stage in EXPECTED.items():
        allowed = {w for w in WHO if allows(getattr(scene, w), perm, project)}
        got[perm] = allowed
        assert allowed == by_stage[stage], (perm, stage)


def test_only_the_supervisor_side_closes_a_defect_and_the_contractor_resolves_it(mini):
    from gongzhi.renovation import actions
    from gongzhi.renovation.tests.builders import soon, to_works

    scene = build_scene(mini)
    p = to_works(scene)
    defect = actions.report_defect(p, actor=scene.inspector, source="inspector", description="x", deadline=soon())
    closers = {w for w in WHO if allows(getattr(scene, w), "renovation.close_defect", defect)}
    resolvers = {w for w in WHO if allows(getattr(scene, w), "renovation.resolve_defect", defect)}
    assert closers == {"officer", "inspector", "supervisor_user"}
    assert resolvers == {"contractor_user"}
