"""Real concurrent 接单 on PostgreSQL: eight party members press "take" on one order at the same moment.

Each thread has its own connection and all start at a barrier, so the conditional UPDATEs on the order's state
genuinely race. Exactly one takes it; the others are refused cleanly; one audit entry, one timeline event.
"""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, connections

from gongzhi.core.models import AuditEntry
from gongzhi.servicedesk import actions
from gongzhi.servicedesk.actions import DeskError
from gongzhi.servicedesk.models import Event, ServiceRequest

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers")


def test_only_one_of_eight_racing_takers_gets_the_order(submit, worker, persona, mini):
    req = submit()
    actions.dispatch_request(req, actor=worker)
    takers = [persona("party_liaison", mini.courtyard, f"racer-{i}") for i in range(8)]
    barrier = threading.Barrier(len(takers))
    outcome: list = [None] * len(takers)

    def run(i):
        try:
            mine = ServiceRequest.objects.get(pk=req.pk)
            barrier.wait()
            actions.take_request(mine, actor=takers[i])
            outcome[i] = "took"
        except (DeskError, PermissionDenied) as e:
            outcome[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(takers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcome.count("took") == 1
    assert all(isinstance(o, DeskError | PermissionDenied) for o in outcome if o != "took")
    req.refresh_from_db()
    assert req.status == "taken" and req.taker == takers[outcome.index("took")]
    assert AuditEntry.objects.filter(action="servicedesk.take", target_id=str(req.pk)).count() == 1
    assert Event.objects.filter(request=req, kind="take").count() == 1
