"""Renovation pages in English: the consent rule of a tally and of an adopted plan line, the Art. 278 matters
and the menu's categories, the deliberation timeline and the scope's wording — no Chinese interface text."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from gongzhi.renovation.models import HOUSEHOLD_RULE_ZH, VOTE_RULE_ZH, PlanLine
from gongzhi.renovation.tests.builders import build_scene
from testkit.untranslated import untranslated

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(mini):
    return build_scene(mini)


def english(client, user, name, *args):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.get(reverse(f"renovation:{name}", args=args)).content.decode()


def test_the_tallies_page_names_its_rules_in_english_before_and_after_the_plan(client, scene):
    page = english(client, scene.officer, "tallies", scene.project.pk)
    assert "Households agreeing" in page and untranslated(page) == []
    assert client.post(reverse("renovation:tallies", args=[scene.project.pk]), {"do": "adopt"}).status_code == 302
    rules = set(PlanLine.objects.filter(project=scene.project).values_list("rule", flat=True))
    assert any(r.startswith(HOUSEHOLD_RULE_ZH + " ") for r in rules)  # kept in Chinese, as adopted
    page = english(client, scene.officer, "tallies", scene.project.pk)
    assert "Households agreeing" in page and untranslated(page) == []


def test_a_plan_line_reads_its_rule_in_the_page_language():
    line = PlanLine(rule=f"{HOUSEHOLD_RULE_ZH} ≥ 2/3")
    with translation.override("en"):
        assert line.rule_label == "Households agreeing ≥ 2/3"
        assert PlanLine(rule=VOTE_RULE_ZH).rule_label.startswith("Owners' vote")
    with translation.override("zh-hans"):
        assert line.rule_label == "同意户数 ≥ 2/3"
    assert PlanLine(rule="自定义规则").rule_label == "自定义规则"  # anything else as it was written


def test_the_menu_names_the_art_278_matters_and_categories_in_english(client, scene, persona, mini):
    page = english(client, scene.officer, "menu")
    assert "Alter or rebuild the buildings and ancillary facilities" in page
    assert "改建、重建建筑物及其附属设施" not in page and untranslated(page) == []


def test_the_new_project_page_explains_the_scope_in_english(client, persona, mini):
    page = english(client, persona("subdistrict_staff", mini.subdistrict), "new")
    assert "a wider area of several compounds" in page and untranslated(page) == []
