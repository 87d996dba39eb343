"""Registry pages for staff: browse the area tree, a node (area, compound or building), a unit, search.

Every page is scoped by the user's roles (out-of-scope objects answer 404, as if absent), pages by key, and
costs a fixed number of queries (see tests/test_pages.py for the budgets). Masking happens here, on the
server: without the unmask permission the full values never reach the template.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from gongzhi.core.gate import permission_required
from gongzhi.core.geo import STORAGE_DATUM
from gongzhi.core.ids import parse_id
from gongzhi.registry import pagesql, selectors
from gongzhi.registry.disclosure import can_unmask, record_pii_view
from gongzhi.registry.forms import SearchForm
from gongzhi.registry.models import AreaNode, Unit


def _url_prefix(name: str) -> str:
    """ "/registry/unit/" for "registry:unit" (a `<int:pk>/` route): reversed once per page, not once per row."""
    return reverse(name, args=[0]).removesuffix("0/")


def _crumbs(user, node, ancestors: list[AreaNode] | None = None) -> list[tuple[str, str]]:
    """Breadcrumbs as (name, link): no link above the user's scope (an ancestor they may not open)."""
    prefix = _url_prefix("registry:node")
    if ancestors is None:
        ancestors = selectors.ancestors(node)
    return [(a.name, f"{prefix}{a.pk}/" if user.has_perm("registry.view_areanode", a) else "") for a in ancestors]


@require_GET
@permission_required("registry.view_areanode")  # a staff role somewhere; the object decides the rest
def browse(request):
    tops = selectors.top_scope_nodes(request.user)
    context = {"tops": tops, "node_url": _url_prefix("registry:node")}
    if len(tops) == 1:
        context["node"] = tops[0]
        context["children"] = selectors.children_page(tops[0], request.GET.get("after", "")[:100])
    return render(request, "registry/browse.html", context)


@require_GET
@permission_required("registry.view_areanode")  # a staff role somewhere; the object decides the rest
def node_detail(request, pk: int):
    node, ancestors, compound_depth, community_depth = pagesql.node_chain(pk)  # with level, profile, ancestors
    if node is None or not request.user.has_perm("registry.view_areanode", node):
        raise Http404  # out of scope: as if absent
    plan = selectors.LevelPlan(compound_depth, community_depth)
    kind = plan.page_kind(node.level)
    context = {
        "node": node,
        "crumbs": _crumbs(request.user, node, ancestors),
        "kind": kind,
        "node_url": _url_prefix("registry:node"),
    }
    if kind == "units":
        after = parse_id(request.GET.get("after"))
        page = selectors.unit_rows_page(node, after, unit_url=_url_prefix("registry:unit"))
        context["units"] = page
        context["unit_rows"] = page.rows
        context["children"] = selectors.children_page(node) if not after else None
    else:
        context["children"] = selectors.children_page(node, request.GET.get("after", "")[:100])
    if kind == "compound":
        profile = getattr(node, "profile", None)
        own, above, three = selectors.organisations_for(node, plan)
        context.update(
            profile=profile,
            age=profile.age_years(timezone.localdate()) if profile else None,
            datum=STORAGE_DATUM,
            orgs=own,
            orgs_above=above,
            three_kinds=three,
        )
    return render(request, "registry/node.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@permission_required("registry.view_areanode")  # a staff role somewhere; the object decides the rest
def unit_detail(request, pk: int):
    """One unit. POST reveal=1 shows full names, phones and ID numbers to a permitted, verified viewer — logged."""
    unit = get_object_or_404(selectors.visible_units(request.user).select_related("node__level", "compound"), pk=pk)
    allowed = can_unmask(request.user, unit)
    reveal = request.method == "POST" and request.POST.get("reveal") == "1"
    if request.method == "POST" and not (reveal and allowed):
        raise PermissionDenied
    view = selectors.unit_view(unit, unmasked=reveal, today=timezone.localdate())
    if reveal:
        record_pii_view(view.people, actor=request.user)
    area, source = unit.voting_area()
    context = {
        "unit": unit,
        "crumbs": [*_crumbs(request.user, unit.node), (unit.node.name, reverse("registry:node", args=[unit.node_id]))],
        "view": view,
        "area": area,
        "area_source": dict(Unit.AREA_SOURCES).get(source, ""),
        "can_reveal": allowed and not reveal,
        "revealed": reveal,
    }
    return render(request, "registry/unit.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@permission_required("registry.view_areanode")  # a staff role somewhere; the object decides the rest
def search(request):
    """Names, addresses and unit references by GET (a link can be kept); phones and ID numbers only by POST, so
    they stay out of addresses, browser history, server logs and Referer headers. A GET that carries one is not
    looked up: the page asks for it to be typed into the form."""
    form = SearchForm(request.POST if request.method == "POST" else (request.GET or None))
    context = {"form": form, "q": ""}
    if form.is_valid() and form.cleaned_data["q"]:
        q = form.cleaned_data["q"]
        if request.method == "GET" and selectors.lookup_kind(q):
            context["form"] = SearchForm()  # not echoed back into the page either
            context["pii_in_address"] = True
            return render(request, "registry/search.html", context, status=400)
        people = selectors.people_for_search(request.user, q)
        context.update(q=q, people=people, units=None, nodes=None)
        if not people.kind:  # a phone or ID number is looked up exactly, never matched against names
            context.update(nodes=selectors.search_nodes(request.user, q), units=selectors.search_units(request.user, q))
        if context["people"].people:
            context["people_rows"] = [
                (selectors.show_person(p), p.shown_ownerships, p.shown_residences) for p in context["people"].people
            ]
    return render(request, "registry/search.html", context)
