"""Permission predicates shared by every app: a role held at a node covers that node and all below it.

Views, the API and the admin ask the gate (`gongzhi.core.gate`), which asks `user.has_perm("app.verb_model", obj)`;
nothing re-decides a permission. Apps build their predicates from `holds("capability")` and narrow lists to a
reader's scope with `scoped(qs, user, "capability", field)`: a capability name, never a set of roles.
"""

from __future__ import annotations

from collections.abc import Iterable

import rules
from django.db.models import Q, QuerySet

from gongzhi.core.roles import roles_with
from gongzhi.core.rows import Read

# A user's (role, scope_path) pairs: read on every signed-in request.
_ROLES: Read = Read("core.RoleAssignment", "t.user_id = %s", values=("role", "scope_path"))


def assignments(user) -> list[tuple[str, str]]:
    """(role, scope_path) pairs of a user, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_gongzhi_roles", None)
    if cached is None:
        cached = _ROLES.all(user.pk)
        user._gongzhi_roles = cached
    return cached


Roles = str | Iterable[str]  # a capability name ("staff"), or (inside core only) a set of role codes


def _roles(roles: Roles) -> frozenset[str]:
    return roles_with(roles) if isinstance(roles, str) else frozenset(roles)


def has_role(user, roles: Roles, path: str | None = None) -> bool:
    """Does the user hold one of `roles` (or a role with that capability) at a node containing `path`?

    Anywhere, if path is None. The low-level question under `holds`; views and apps ask the gate instead.
    """
    if getattr(user, "is_superuser", False):
        return True
    roles = _roles(roles)
    return any(r in roles and (path is None or path.startswith(p)) for r, p in assignments(user))


def scope_paths(user, roles: Roles) -> list[str]:
    """The widest paths at which the user holds `roles` (a capability name), shortest first; nested ones dropped."""
    roles = _roles(roles)
    paths = sorted({p for r, p in assignments(user) if r in roles}, key=lambda p: (len(p), p))
    return [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]


def scope_q(user, roles: Roles, field: str) -> Q | None:
    """A filter keeping rows whose `field` (a path) lies in one of the user's scopes; None means everything."""
    if getattr(user, "is_superuser", False):
        return None
    q = Q(pk__in=[])
    for p in sorted(scope_paths(user, roles)):
        q |= Q(**{f"{field}__startswith": p})
    return q


def scoped(qs: QuerySet, user, roles: Roles = "staff", field: str = "path") -> QuerySet:
    """`qs` narrowed to the rows under the user's scopes for `roles` (a capability name)."""
    q = scope_q(user, roles, field)
    return qs if q is None else qs.filter(q)


def path_of(obj) -> str:
    """The area path an object lies under, for scope checks: the one object-path helper of the platform.

    An object says it itself with a `gate_path` attribute or property; otherwise its own `path`, `scope_path` or
    `home_path`, else that of its `node`, `area`, `scope`, `compound` or `project` (followed once more), else "".
    """
    value = getattr(obj, "gate_path", None)
    if value:
        return value
    for attr in ("path", "scope_path", "home_path"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return value
    for attr in ("node", "area", "scope", "compound", "project"):
        related = getattr(obj, attr, None)
        if related is not None and related is not obj:
            found = path_of(related)
            if found:
                return found
    return ""


_HOLDS: dict[str, rules.Predicate] = {}


def holds(capability: str) -> rules.Predicate:
    """A predicate: the user holds a role with `capability` at a node containing the object (anywhere, without one).

    The building block of every app's `rules.py`: `rules.add_perm("renovation.change_project",
    holds("renovation.manage") & project_is_open)`.
    """
    pred = _HOLDS.get(capability)
    if pred is None:
        roles = roles_with(capability)

        def check(user, obj=None) -> bool:
            return has_role(user, roles, path_of(obj) if obj is not None else None)

        pred = _HOLDS[capability] = rules.predicate(check, name=f"holds[{capability}]")
    return pred


is_staff_in_scope = holds("staff")
is_registry_editor = holds("registry.edit")
is_org_editor = holds("organizations.edit")
sees_unmasked_pii = holds("pii.unmasked")
acts_for_residents = holds("residents.act_for")
reads_audit = holds("audit.read")
edits_calendar = holds("calendar.edit")

# Anyone signed in: for the pages and API operations every account may open (the object decides the rest).
SIGNED_IN = "core.signed_in"
rules.add_perm(SIGNED_IN, rules.is_authenticated)
rules.add_perm("core.view_audit", reads_audit)
rules.add_perm("core.view_unmasked_pii", sees_unmasked_pii)
rules.add_perm("core.act_for_resident", acts_for_residents)
rules.add_perm("core.view_upload", is_staff_in_scope)
rules.add_perm("core.change_calendaroverride", edits_calendar)
rules.add_perm("core.view_outgoingsms", reads_audit)  # the message log: masked numbers, no codes


def needs_second_factor(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or has_role(user, "pii.unmasked")


SECOND_FACTOR_MANAGERS = "second_factor.manage"  # a capability name: scope_q/has_role take it as the role set


@rules.predicate(name="manages_second_factor_of")
def manages_second_factor_of(user, target=None) -> bool:
    """May `user` issue enrolment codes for `target` and reset its second factor?

    Without a target: is the user one who does this at all (a district admin or a superuser). With one: a
    superuser may for anyone else; a district admin only for a user who holds at least one role and all of whose
    roles lie within the admin's scope (a role elsewhere would let the admin take over an account beyond it),
    and never for a superuser. Nobody does it for himself: another administrator hands the code over.
    Note that Django's `has_perm` answers True for an active superuser before asking this predicate, so the
    actions check "not for himself" once more.
    """
    if target is None:
        return has_role(user, SECOND_FACTOR_MANAGERS)
    if getattr(user, "pk", None) is not None and user.pk == target.pk:
        return False
    if getattr(user, "is_superuser", False):
        return True
    if getattr(target, "is_superuser", False):
        return False
    paths = [path for _role, path in assignments(target)]
    return bool(paths) and all(has_role(user, SECOND_FACTOR_MANAGERS, path) for path in paths)


rules.add_perm("core.manage_second_factor", manages_second_factor_of)


@rules.predicate(name="is_the_same_user")
def is_the_same_user(user, target=None) -> bool:
    return target is not None and getattr(user, "pk", None) is not None and user.pk == target.pk


# API tokens: a user revokes his own; whoever manages an account's second factor may revoke its tokens too.
rules.add_perm("core.revoke_api_tokens", is_the_same_user | manages_second_factor_of)
rules.add_perm("core.use_api", rules.is_active)
