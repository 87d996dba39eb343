"""Notice permissions: a published notice is public; officers in scope publish, change and withdraw notices."""

from __future__ import annotations

import rules

from gongzhi.core.rules import holds

is_publisher = holds("notices.publish")
is_staff_here = holds("staff")


@rules.predicate
def is_published(user, notice) -> bool:
    return notice is not None and notice.status == "published"


rules.add_perm("notices.view_notice", is_published | is_staff_here)
rules.add_perm("notices.publish_notice", is_publisher)
rules.add_perm("notices.change_notice", is_publisher)
