"""Registry pages for staff: browse the area tree, a node (area, compound or building), a unit, search.

Every page is scoped by the user's roles (out-of-scope objects answer 404, as if absent), pages by key, and
costs a fixed number of queries (see tests/test_pages.py for the budgets). Masking happens here, on the
server: without the unmask permission the full values never reach the template.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.gate import allows, permission_required
from gongzhi.core.geo import STORAGE_DATUM
from gongzhi.registry import actions, pagesql, selectors
from gongzhi.registry.disclosure import can_unmask, record_pii_view
from gongzhi.registry.forms import EraseForm, SearchForm
from gongzhi.registry.models import AreaNode, Person, Unit


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
        after = selectors.parse_after_id(request.GET.get("after"))
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


def _person_in_sight(request, pk: int, perm: str | None = None) -> Person:
    """The person, if the reader's scope reaches them (else 404, as if absent); 403 if `perm` fails on them."""
    person = get_object_or_404(selectors.visible_people(request.user), pk=pk)
    if perm and not request.user.has_perm(perm, person):
        raise PermissionDenied(perm)
    return person


@require_GET
@permission_required("registry.view_areanode")  # a staff role somewhere; the object decides the rest
def person_detail(request, pk: int):
    """One person, masked: their units, and — for those who may — a copy of their data and its erasure."""
    person = _person_in_sight(request, pk)
    units = selectors.person_units(person)
    context = {
        "person": person,
        "shown": selectors.show_person(person),
        "owns": units["owns"],
        "lives": units["lives"],
        "can_export": allows(request.user, "registry.export_person_data", person),
        "can_erase": allows(request.user, "registry.erase_person", person),
    }
    return render(request, "registry/person.html", context)


@never_cache
@require_POST  # a copy of someone's data is taken on purpose (and audited), never by a prefetched link
@permission_required("registry.export_person_data")
def person_export(request, pk: int):
    person = _person_in_sight(request, pk, "registry.export_person_data")
    data = actions.export_person_data(person, actor=request.user)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="person-{person.pk}.json"'
    return response


@never_cache
@require_http_methods(["GET", "POST"])
@permission_required("registry.erase_person")
def person_erase(request, pk: int):
    """The erase page: what happens, a reason, a confirmation; POST erases and returns to the person's page."""
    person = _person_in_sight(request, pk, "registry.erase_person")
    form = EraseForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.erase_person(person, actor=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as e:  # a field's error goes to the field ("reason"), the rest above the form
                form.add_error(None, e)
            else:
                messages.success(request, _("已删除此人的个人信息 / the person's data was erased"))
                return redirect("registry:person", pk=person.pk)
        status = 400
    context = {"person": person, "shown": selectors.show_person(person), "form": form}
    return render(request, "registry/person_erase.html", context, status=status)
