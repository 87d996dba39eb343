"""Organisation permissions: staff see organisations in their scope; organisation editors change them.

Every predicate receives the organisation (or the area node it is being created at); its `path` is the scope.
"""

import rules

from gongzhi.core.rules import holds, is_org_editor, is_staff_in_scope

rules.add_perm("organizations.view_orgkind", rules.is_authenticated)
rules.add_perm("organizations.view_menu", holds("registry.browse"))  # the menu entry (not the field roles)
rules.add_perm("organizations.view_organization", is_staff_in_scope)
rules.add_perm("organizations.add_organization", is_org_editor)
rules.add_perm("organizations.change_organization", is_org_editor)
rules.add_perm("organizations.dissolve_organization", is_org_editor)
rules.add_perm("organizations.change_membership", is_org_editor)
rules.add_perm("organizations.assign_liaison", is_org_editor)
rules.add_perm("organizations.view_coverage", is_staff_in_scope)
rules.add_perm("organizations.export_coverage", is_staff_in_scope)
