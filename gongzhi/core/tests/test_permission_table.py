"""Generated permission tests: every URL and API operation, every role, in and out of scope, and anonymous.

The expected answers come from each app's `tests/permission_table.py` (see `testkit.permissions`); this file
walks the URL resolver and the OpenAPI document so that a URL or an operation added without an entry fails.
"""

from __future__ import annotations

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from testkit.permissions import Api, Page, build_world, run, tables

# Django's admin site answers for itself (staff sign-in, then each ModelAdmin's has_*_permission): its one
# entry is admin:index; its generated per-model URLs are not listed one by one.
GENERATED = ("admin:",)
# The router's own index and the format-suffix twins of every API route are covered by the OpenAPI walk.
API_ROUTE_MODULES = ("rest_framework.routers",)


def url_names() -> set[str]:
    names: set[str] = set()

    def walk(resolver, namespace=None):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                walk(p, ns)
            elif isinstance(p, URLPattern):
                view = p.callback
                if getattr(view, "cls", None) is not None and hasattr(view, "actions"):
                    continue  # a router's viewset route: an API operation, checked from the OpenAPI document
                if view.__module__ in API_ROUTE_MODULES:
                    continue
                names.add(f"{namespace}:{p.name}" if namespace else str(p.name))

    walk(get_resolver())
    return {n for n in names if not n.startswith(GENERATED)}


def api_operations(client) -> set[tuple[str, str]]:
    from testkit.world import make_user

    client.force_login(make_user("perm-schema-reader"))
    schema = json.loads(client.get("/api/v1/schema/", {"format": "json"}).content)
    client.logout()
    return {
        (path, method)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


def all_entries():
    return [(label, e) for label, module in tables().items() for e in module.TABLE]


@pytest.mark.django_db
def test_every_url_and_api_operation_has_an_entry(client):
    entries = [e for _label, e in all_entries()]
    pages = {e.name for e in entries if isinstance(e, Page)}
    apis = {(e.path, e.method) for e in entries if isinstance(e, Api)}
    missing_pages = sorted(url_names() - pages)
    missing_api = sorted(api_operations(client) - apis)
    assert not missing_pages, "URLs without a permission-table entry: " + ", ".join(missing_pages)
    assert not missing_api, "API operations without a permission-table entry: " + ", ".join(map(str, missing_api))
    stale = sorted(pages - url_names() - {"admin:index"})
    assert not stale, "entries for URL names that do not exist: " + ", ".join(stale)


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(tables()))
def test_each_app_answers_as_its_table_says(label, mini, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    module = tables()[label]
    world = build_world(mini, [module])
    problems = run(module.TABLE, world)
    assert not problems, f"{len(problems)} answers differ from the table:\n" + "\n".join(problems)
