"""Notice permissions: a published notice is public; officers in scope publish, change and withdraw notices."""

from __future__ import annotations

import rules

from gongzhi.core.roles import STAFF_ROLES
from gongzhi.core.rules import has_role, path_of

PUBLISHER_ROLES = frozenset({"district_admin", "subdistrict_staff", "community_worker", "registry_officer"})


@rules.predicate
def is_publisher(user, obj=None) -> bool:
    return has_role(user, PUBLISHER_ROLES, path_of(obj) if obj is not None else None)


@rules.predicate
def is_staff_here(user, obj=None) -> bool:
    return has_role(user, STAFF_ROLES, path_of(obj) if obj is not None else None)


@rules.predicate
def is_published(user, notice) -> bool:
    return notice is not None and notice.status == "published"


rules.add_perm("notices.view_notice", is_published | is_staff_here)
rules.add_perm("notices.publish_notice", is_publisher)
rules.add_perm("notices.change_notice", is_publisher)
