"""Who may open which survey page: roles × pages, each answer stated (200, 302 to sign in, 403 refused, 404 as if
absent), and the links shown only to those who would be let through."""

import pytest
from django.urls import reverse

from testkit import surveys as testing
from testkit.world import make_user

PAGES = ["list", "new", "detail", "questions", "progress", "rates", "data", "export", "responses", "enter"]
# role → expected status per page (open survey, results not published)
MATRIX = {
    "anonymous": [302, 302, 302, 302, 302, 404, 302, 302, 302, 302],
    "resident": [302, 403, 403, 403, 403, 404, 403, 403, 403, 403],
    "party_liaison": [200, 403, 200, 403, 200, 200, 403, 403, 403, 200],
    "community_worker": [200, 200, 200, 200, 200, 200, 200, 200, 200, 200],
    "auditor": [200, 403, 200, 403, 403, 200, 200, 403, 403, 403],
    "outsider": [200, 200, 404, 404, 404, 404, 404, 404, 404, 404],
}


def url(name, survey):
    return reverse(f"surveys:{name}") if name in ("list", "new") else reverse(f"surveys:{name}", args=[survey.pk])


@pytest.mark.parametrize("role", list(MATRIX))
def test_role_page_matrix(client, mini, role):
    sc = testing.build(mini)
    survey = testing.make_survey(sc)
    if role == "outsider":
        client.force_login(make_user("o", "community_worker", mini.other_courtyard))
    elif role == "auditor":
        client.force_login(make_user("a", "auditor", mini.district))
    elif role != "anonymous":
        client.force_login(make_user("u", role, mini.community, person=sc.people[0] if role == "resident" else None))
    got = [client.get(url(name, survey)).status_code for name in PAGES]
    assert dict(zip(PAGES, got, strict=True)) == dict(zip(PAGES, MATRIX[role], strict=True))


def test_detail_shows_only_the_links_the_reader_may_follow(client, mini):
    sc = testing.build(mini)
    survey = testing.make_survey(sc)
    client.force_login(make_user("pl", "party_liaison", mini.community))
    page = client.get(reverse("surveys:detail", args=[survey.pk])).content.decode()
    assert reverse("surveys:enter", args=[survey.pk]) in page
    for hidden in ("questions", "export", "responses", "publish", "close"):
        assert reverse(f"surveys:{hidden}", args=[survey.pk]) not in page
