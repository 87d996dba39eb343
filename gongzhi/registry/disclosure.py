"""Showing unmasked personal data: who may, and the audit entry every showing leaves.

Masking is the default everywhere (pages, API, admin). Full phone and ID numbers are shown only when
  1. the viewer holds a role that sees them (`registry.view_person_unmasked`) over the unit or person shown,
  2. the viewer passed the second factor in this session (`user.is_verified()`; the demo may switch the
     requirement off with GONGZHI_REQUIRE_SECOND_FACTOR=0), and
  3. the viewer asked for it (the "显示完整信息" button, or `?reveal=1` on the session-authenticated API).
API tokens never unmask: a token cannot carry a second factor.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from gongzhi.core import audit
from gongzhi.registry.models import Person

REVEALED_FIELDS = ["name", "phone", "id_number"]


def can_unmask(user, obj) -> bool:
    if not user.has_perm("registry.view_person_unmasked", obj):
        return False
    if not settings.GONGZHI_REQUIRE_SECOND_FACTOR:
        return True
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified())


@transaction.atomic
def record_pii_view(people: Iterable[Person], *, actor, channel: str = "web") -> None:
    """One "pii.view" entry per person whose full data was shown."""
    for person in {p.pk: p for p in people}.values():
        audit.record("pii.view", person, actor=actor, changes={"fields": REVEALED_FIELDS}, channel=channel)
