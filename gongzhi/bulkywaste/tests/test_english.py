"""The booking amend page in English: the catalogue's items by their English names."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from testkit import bulkywaste as bw
from testkit.untranslated import untranslated

pytestmark = pytest.mark.django_db


def test_the_amend_page_names_catalogue_items_in_english(client, area, mini, resident):
    b = bw.book_for(mini.units[0], actor=resident, channel="web", items=[bw.item("wardrobe")], now=timezone.now())
    client.force_login(resident)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("bulkywaste:booking_amend", args=[b.reference])).content.decode()
    assert '<label for="id_qty_wardrobe">wardrobe</label>' in page
    assert "衣柜" not in page and "双人床" not in page and untranslated(page) == []
