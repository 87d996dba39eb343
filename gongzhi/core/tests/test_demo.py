"""The demo district and the benchmark's baseline page."""

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_baseline_page_needs_sign_in_and_renders_the_base_layout(client, persona):
    url = reverse("core:baseline")
    assert client.get(url).status_code == 302
    client.force_login(persona("community_worker"))
    response = client.get(url)
    assert response.status_code == 200
    assert "<html" in response.content.decode()
