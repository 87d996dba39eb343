"""The API's router (digits-only ids)."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter


class Router(DefaultRouter):
    """The API's router: an object's id in a path is digits only, unless the viewset says otherwise — so
    /votes/abc/ is a plain 404 before any view runs, never a database error."""

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        if getattr(viewset, "lookup_value_regex", None) is None and getattr(viewset, "lookup_field", "pk") in (
            "pk",
            "id",
        ):
            viewset.lookup_value_regex = "[0-9]+"
        return super().get_lookup_regex(viewset, lookup_prefix)
