"""The OpenAPI document is the truth: schemathesis drives a live server with cases generated from it —
anonymously and as two roles, with a fixed seed and a bounded number of examples per operation — and every answer
must be a documented status with a documented content type and a body matching its schema, never a 5xx.

Slow (a few minutes): marked `slow_once` and `postgres_only`, so it runs on the PostgreSQL leg of CI only; run it
alone with `pytest -m slow_once` (and DATABASE_URL=postgres://…), or leave it out with `-m "not slow_once"`.
SCHEMATHESIS_EXAMPLES sets the examples per operation and identity (default 10) of data the document allows,
SCHEMATHESIS_NEGATIVE_EXAMPLES (default 4) of data it does not (where only a 5xx fails).
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from django.test import override_settings

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))
NEGATIVE_EXAMPLES = int(os.environ.get("SCHEMATHESIS_NEGATIVE_EXAMPLES", "4"))

pytestmark = [pytest.mark.slow_once, pytest.mark.postgres_only]


def _document() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _world(mini):
    """Enough data for the operations to find things: a compound with owners, an open vote, personas, tokens."""
    from rest_framework.authtoken.models import Token

    from testkit.bulkywaste import service_area
    from testkit.voting import build_owners_compound, open_vote_now
    from testkit.world import make_user

    worker = make_user("st-worker", "community_worker", mini.community)
    admin = make_user("st-admin", "district_admin", mini.district)
    service_area(mini.subdistrict)
    compound = build_owners_compound(mini)
    open_vote_now(compound, worker)
    return {
        "anonymous": None,
        "community_worker": (worker, Token.objects.create(user=worker).key),
        "district_admin": (admin, Token.objects.create(user=admin).key),
    }


@pytest.mark.django_db(transaction=True)
def test_every_answer_is_what_the_openapi_document_says(live_server, mini):
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    identities = _world(mini)
    schema = schemathesis.openapi.from_dict(_document())
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    failures: Counter[str] = Counter()
    examples: dict[str, str] = {}
    cases = 0

    with override_settings(GONGZHI_ANONYMOUS_WRITES_PER_HOUR=10**6, GONGZHI_TOKEN_REQUESTS_PER_MINUTE=10**6):
        for result in schema.get_all_operations():
            operation = result.ok()
            for who, identity in identities.items():
                cases += _run_operation(operation, who, identity, live_server.url, checks, failures, examples)
                # Data the document does not allow (wrong types, missing fields, out-of-range values): only a
                # server error is a failure here — a 4xx is the right answer, whichever it is.
                cases += _run_operation(
                    operation, who, identity, live_server.url, [not_a_server_error], failures, examples, negative=True
                )

    report = "\n".join(f"{n:4d} × {label}\n       e.g. {examples[label][:400]}" for label, n in failures.most_common())
    print(f"schemathesis: {cases} cases, {sum(failures.values())} failing")
    assert not failures, f"{len(failures)} kinds of failure in {cases} cases:\n{report}"


def _run_operation(operation, who, identity, base_url, checks, failures, examples, negative=False) -> int:
    """Run one operation's generated cases as one identity; failures are counted by kind, not raised."""
    from hypothesis import HealthCheck, given, seed, settings
    from hypothesis.errors import Unsatisfiable
    from rest_framework.authtoken.models import Token
    from schemathesis import GenerationMode

    headers = {"Authorization": f"Token {identity[1]}"} if identity is not None else {}
    ran = 0

    @seed(20261202)
    @settings(
        max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy(GenerationMode.NEGATIVE if negative else GenerationMode.POSITIVE))
    def run(case):
        nonlocal ran
        ran += 1
        if identity is not None:  # an operation may have revoked the token (DELETE /token/): give it back
            Token.objects.get_or_create(user=identity[0], defaults={"key": identity[1]})
        try:
            case.call_and_validate(base_url=base_url, headers=headers, checks=checks)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # noqa: B036 - schemathesis raises exception groups; count each failure by kind
            for failure in getattr(e, "exceptions", [e]):
                first = (str(getattr(failure, "title", "") or failure).strip().splitlines() or [""])[0][:160]
                label = f"{operation.label} as {who}{' (negative)' * negative}: {type(failure).__name__}: {first}"
                failures[label] += 1
                examples.setdefault(label, f"{case.as_curl_command()}  →  {str(failure).strip()[:300]}")

    try:
        run()
    except Unsatisfiable:  # nothing the document forbids can be sent to this operation (no parameters, no body)
        if not negative:
            raise
    return ran
