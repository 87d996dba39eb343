"""Roles and what each may do. A role is always held at a node of the area tree (its scope)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class RoleSpec:
    code: str
    label: str
    staff: bool  # works in the back office (tables, exports) rather than the residents' pages
    sees_unmasked_pii: bool  # sees full phone and ID numbers; must use a second factor
    edits_registry: bool = False
    edits_organizations: bool = False
    acts_for_residents: bool = False  # may enter things on a resident's behalf (hotline, door-to-door)
    reads_audit: bool = False


ROLES: dict[str, RoleSpec] = {
    r.code: r
    for r in [
        RoleSpec("district_admin", _("区级管理员"), True, True, True, True, True, True),
        RoleSpec("subdistrict_staff", _("街道工作人员"), True, False, True, True, True),
        RoleSpec("community_worker", _("社区工作者"), True, False, True, True, True),
        RoleSpec("registry_officer", _("社区台账专管员"), True, True, True, True, True),
        RoleSpec("hotline_operator", _("热线坐席"), True, False, acts_for_residents=True),
        RoleSpec("party_liaison", _("党员联络员"), True, False, acts_for_residents=True),
        RoleSpec("auditor", _("审计员"), True, False, reads_audit=True),
        RoleSpec("resident", _("居民"), False, False),
        RoleSpec("volunteer", _("志愿者"), False, False),
        RoleSpec("dispatcher", _("清运调度员"), True, False),
        RoleSpec("crew", _("清运队员"), True, False),
        RoleSpec("contractor", _("施工单位"), True, False),
        RoleSpec("property_manager", _("物业管理人员"), True, False, acts_for_residents=True),
    ]
}

ROLE_CHOICES = [(code, spec.label) for code, spec in ROLES.items()]
STAFF_ROLES = frozenset(c for c, r in ROLES.items() if r.staff)
REGISTRY_EDITORS = frozenset(c for c, r in ROLES.items() if r.edits_registry)
ORG_EDITORS = frozenset(c for c, r in ROLES.items() if r.edits_organizations)
UNMASKED_PII_ROLES = frozenset(c for c, r in ROLES.items() if r.sees_unmasked_pii)
PROXY_ROLES = frozenset(c for c, r in ROLES.items() if r.acts_for_residents)
AUDIT_READERS = frozenset(c for c, r in ROLES.items() if r.reads_audit)
