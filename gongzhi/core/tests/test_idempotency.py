"""Forms that create things carry an idempotency key: a retried submission never creates twice."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from gongzhi.core.models import FormSubmission
from gongzhi.core.once import FIELD


def form_key(client, url: str) -> str:
    page = client.get(url).content.decode()
    match = re.search(rf'name="{FIELD}" value="([^"]+)"', page)
    assert match, f"{url} carries no idempotency key"
    return match.group(1)


@pytest.fixture
def officer(persona, mini):
    return persona("community_worker", node=mini.community, username="officer")


def notice_form(mini, key: str, title: str = "关于加装电梯的公示") -> dict:
    return {FIELD: key, "node": mini.courtyard.pk, "kind": "other", "title": title, "body": "公示内容", "days": 7}


@pytest.mark.django_db
def test_a_resubmitted_notice_form_publishes_once_and_goes_where_the_first_went(client, officer, mini):
    from gongzhi.notices.models import Notice

    client.force_login(officer)
    key = form_key(client, f"/notices/new/?node={mini.courtyard.pk}")
    first = client.post("/notices/new/", notice_form(mini, key))
    assert first.status_code == 302, first.content.decode()[:2000]
    again = client.post("/notices/new/", notice_form(mini, key))
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert Notice.objects.count() == 1
    assert (
        form_key(client, f"/notices/new/?node={mini.courtyard.pk}") != key
    )  # each render a fresh key: a new notice is a new submission
    client.post(
        "/notices/new/", notice_form(mini, form_key(client, f"/notices/new/?node={mini.courtyard.pk}"), "另一份公示")
    )
    assert Notice.objects.count() == 2


@pytest.mark.django_db
def test_a_refused_submission_keeps_no_key_so_it_can_be_sent_again(client, officer, mini):
    client.force_login(officer)
    key = form_key(client, f"/notices/new/?node={mini.courtyard.pk}")
    bad = client.post("/notices/new/", {**notice_form(mini, key), "title": ""})
    assert bad.status_code in (200, 400) and not FormSubmission.objects.filter().exclude(result_url="").exists()


@pytest.mark.django_db
def test_every_form_that_creates_carries_a_key(client, officer, mini):
    client.force_login(officer)
    for url in (f"/notices/new/?node={mini.courtyard.pk}", "/deliberation/new/", "/organizations/new/", "/voting/new/",
                "/bulky/report/"):  # fmt: skip
        form_key(client, url)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_postgres_ten_racing_copies_of_one_submission_create_one_notice(officer, mini):
    from gongzhi.notices.models import Notice

    client = Client()
    client.force_login(officer)
    key = form_key(client, f"/notices/new/?node={mini.courtyard.pk}")
    cookies = client.cookies
    barrier = threading.Barrier(10)

    def submit(_):
        c = Client()
        c.cookies = cookies
        try:
            barrier.wait()
            return c.post("/notices/new/", notice_form(mini, key)).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(submit, range(10)))
    assert Notice.objects.count() == 1
    assert all(code in (302, 409) for code in codes)
