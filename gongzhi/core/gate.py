"""The one permission gate: every page, API operation, admin screen and action asks here.

A permission is a name ("renovation.change_project") registered by an app's `rules.py` with `rules.add_perm`,
as a predicate over the user and the object (scope, stage, status). Nothing else decides who may:

- views:    `@permission_required("renovation.view_menu")` to open a kind of page at all, then
            `obj = gated_object(request, Project.objects..., pk=pk, perm="renovation.change_project",
            view_perm="renovation.view_project")` for one object;
- the API:  `permission_classes = [GatePermission]` with `gate_perms = {"list": "...", "retrieve": "...", ...}`;
- actions:  `require(actor, "renovation.change_project", project)` first thing (actor None = the system);
- links:    `{% load rules %}{% has_perm "renovation.change_project" user project as can_change %}` or
            `allows(user, perm, obj)` in a view, so a reader is never shown a link they would be refused.

Out of scope is answered as absent (404) where the reader may not even see the object, 403 where they may see it
but not do this, and the sign-in page for an anonymous reader of a page that needs one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

import rules
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework.permissions import BasePermission


def allows(user, perm: str, obj=None) -> bool:
    """May `user` do `perm` (on `obj`)? The question every link, button and menu entry is shown from.

    The same answer as `user.has_perm` (an active superuser may do everything; an inactive account nothing),
    asked of the `rules` registry alone: Gongzhi grants nothing through Django's model permissions, so a
    refusal costs no query for them. A permission no `rules.py` registers is a mistake, not a "no".
    An anonymous reader is asked like anyone else (Django's AnonymousUser says `is_active = False`, yet the
    predicates decide for it, e.g. published figures or notices); only a signed-in inactive account is refused.
    """
    if user is None or (getattr(user, "is_authenticated", False) and not getattr(user, "is_active", True)):
        return False
    if not rules.perm_exists(perm):
        raise ImproperlyConfigured(f"no rules.py registers the permission {perm!r}")
    if getattr(user, "is_superuser", False):
        return True
    return rules.has_perm(perm, user, obj)


def require(actor, perm: str, obj=None) -> None:
    """Raise PermissionDenied unless `actor` holds `perm` (None = the system itself: scheduled jobs, migrations)."""
    if actor is not None and not actor.has_perm(perm, obj):
        raise PermissionDenied(perm)


def check(user, perm: str, obj=None, *, view_perm: str | None = None) -> None:
    """For a page or API call on one object: 404 unless `view_perm` is held (as if absent), 403 unless `perm` is."""
    if view_perm and not allows(user, view_perm, obj):
        raise Http404
    if perm != view_perm and not allows(user, perm, obj):
        raise PermissionDenied(perm)


def gated_object(request, queryset, *, perm: str, view_perm: str | None = None, **lookup):
    """The object of `queryset` matching `lookup`, or 404 if absent or out of the reader's sight, 403 if `perm` fails.

    `view_perm` defaults to `perm`: a reader who may not do `perm` on it is not told it exists.
    """
    obj = get_object_or_404(queryset, **lookup)
    check(request.user, perm, obj, view_perm=view_perm or perm)
    return obj


def permission_required(perm: str | None, *, anonymous: bool = False) -> Callable:
    """View decorator: the reader may open this kind of page at all (`perm` checked without an object).

    An anonymous reader goes to the sign-in page (unless `anonymous=True`, where the permission decides alone,
    e.g. public notices); a signed-in reader without the permission gets 403. `perm=None` only asks for sign-in.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not anonymous and not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if perm is not None and not allows(user, perm):
                if not user.is_authenticated:
                    return redirect_to_login(request.get_full_path())
                raise PermissionDenied(perm)
            return view(request, *args, **kwargs)

        wrapper.gate_perm = perm  # type: ignore[attr-defined]  # read by the generated permission tests
        return wrapper

    return decorator


def _unhandled(request, view) -> bool:
    method = request.method.lower()
    action_map = getattr(view, "action_map", None)
    return method not in action_map if action_map is not None else not hasattr(view, method)


class GatePermission(BasePermission):
    """DRF permission class asking the gate: `view.gate_perms[view.action or method]`.

    `gate_perms` maps an action name ("list", "retrieve", "create", a custom @action's name) or, for plain
    APIViews, an HTTP method in lower case, to a permission name; None there means "anyone". A missing entry
    is refused, so an operation added without a permission is closed rather than open. Object permissions are
    checked by `has_object_permission` with the same name (for viewsets that call `get_object`; the others pass
    the object to `check`). `gate_entry`, if set, is a permission every operation needs first, asked without an
    object (a reader who may use this part of the API nowhere is refused with 403 before any lookup).
    """

    def _perm(self, request, view) -> str | None:
        perms = getattr(view, "gate_perms", {})
        key = getattr(view, "action", None) or request.method.lower()
        if key not in perms and (request.method == "OPTIONS" or _unhandled(request, view)):
            return None  # DRF answers it (OPTIONS, or 405 for a method the view has no handler for)
        if key not in perms:
            raise PermissionDenied(f"no permission declared for {type(view).__name__}.{key}")
        return perms[key]

    def has_permission(self, request, view) -> bool:
        entry = getattr(view, "gate_entry", None)
        if entry is not None and not allows(request.user, entry):
            return False  # the part of the API as a whole (like `permission_required` for pages)
        perm = self._perm(request, view)
        if perm is None:
            return True
        # Object operations are decided on the object; a list or create is decided here.
        if getattr(view, "action", None) in {"retrieve", "update", "partial_update", "destroy"} or (
            "pk" in getattr(view, "kwargs", {})
        ):
            return bool(request.user and request.user.is_authenticated) or allows(request.user, perm)
        return allows(request.user, perm)

    def has_object_permission(self, request, view, obj) -> bool:
        perm = self._perm(request, view)
        return perm is None or allows(request.user, perm, obj)
