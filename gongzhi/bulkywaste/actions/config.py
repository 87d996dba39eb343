"""Configuration: catalogue entries, fee schedules, cost rates, service areas and vehicles (admin and demo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model

from gongzhi.bulkywaste.models import ServiceArea, UnloadSite, Vehicle
from gongzhi.core import audit

if TYPE_CHECKING:
    from gongzhi.core.models import User


@transaction.atomic
def save_config(obj: Model, *, actor: User | None) -> None:
    """Catalogue entries, fee schedules, cost rates, service areas, vehicles and unloading sites (admin and demo)."""
    perm = "bulkywaste.dispatch" if isinstance(obj, Vehicle | UnloadSite) else "bulkywaste.configure"
    scope = obj.area if isinstance(obj, UnloadSite) else obj if isinstance(obj, Vehicle | ServiceArea) else None
    if actor is not None and not actor.has_perm(perm, scope):
        raise PermissionDenied(perm)
    created = obj.pk is None
    obj.full_clean(exclude=["path"] if isinstance(obj, ServiceArea) else None)
    obj.save()
    audit.record(f"bulky.{'create' if created else 'change'}_{obj._meta.model_name}", obj, actor=actor)
