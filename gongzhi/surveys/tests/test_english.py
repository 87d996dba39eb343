"""The rates page in English: the questions and their options (the "don't know / n.a." row too) in English."""

from __future__ import annotations

import html

import pytest
from django.conf import settings
from django.urls import reverse

from gongzhi.surveys import actions
from gongzhi.surveys.models import SurveyHousehold
from testkit import surveys as testing
from testkit.untranslated import untranslated
from testkit.world import make_user

pytestmark = pytest.mark.django_db


def test_the_rates_page_reads_in_english(client, mini):
    sc = testing.build(mini)
    worker = make_user("cw", "community_worker", mini.community)
    survey = testing.make_survey(sc)
    h = SurveyHousehold.objects.filter(survey=survey).first()
    actions.submit_response(survey, h, actor=worker, answers={"aware": "yes", "satisfied": "na"}, channel="door")
    client.force_login(worker)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = html.unescape(client.get(reverse("surveys:rates", args=[survey.pk])).content.decode())
    assert "don't know / n.a." in page and "How satisfied are you with the works?" in page
    assert "不了解" not in page and untranslated(page) == []
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "不了解/不适用" in client.get(reverse("surveys:rates", args=[survey.pk])).content.decode()
