"""The area tree in English: each node's level by its English name (the levels are stored in both), and the
organisation form's kinds and areas likewise — no Chinese interface text."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from testkit.untranslated import untranslated

pytestmark = pytest.mark.django_db


def english(client, user, url):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.get(url).content.decode()


def test_browsing_the_area_tree_names_levels_in_english(client, persona, mini):
    worker = persona("community_worker", mini.community, "worker")
    for url in (reverse("registry:browse"), reverse("registry:node", args=[mini.courtyard.pk])):
        page = english(client, worker, url)
        assert "Courtyard compound" in page or "Building" in page, url
        assert mini.courtyard.level.name not in page.replace(mini.courtyard.name, ""), url
        assert untranslated(page) == [], url


def test_the_new_organisation_form_offers_kinds_and_areas_in_english(client, persona, mini):
    worker = persona("community_worker", mini.community, "worker")
    page = english(client, worker, reverse("organizations:create") + f"?node={mini.courtyard.pk}")
    assert "Temporary party branch" in page or "temporary party branch" in page.lower()
    assert "临时党支部" not in page and "驻区单位" not in page
    assert untranslated(page) == []
