"""Registry pages for staff: browse the area tree, a node (area, compound or building), a unit, search.

Every page is scoped by the user's roles (out-of-scope objects answer 404, as if absent), pages by key, and
costs a fixed number of queries (see tests/test_pages.py for the budgets). Masking happens here, on the
server: without the unmask permission the full values never reach the template.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from gongzhi.core import pii
from gongzhi.core.geo import STORAGE_DATUM
from gongzhi.registry import selectors
from gongzhi.registry.disclosure import can_unmask, record_pii_view
from gongzhi.registry.forms import SearchForm
from gongzhi.registry.models import Unit


def staff_required(view):
    """Signed in (else the sign-in page) and holding a staff role somewhere (else 403)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not selectors.is_staff(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _crumbs(user, node) -> list[tuple[object, bool]]:
    """Breadcrumbs with a flag: may the user open this ancestor (no link above their scope)."""
    return [(a, user.has_perm("registry.view_areanode", a)) for a in selectors.ancestors(node)]


def _unit_rows(units: list[Unit], building_pk: int) -> list[dict]:
    rows = []
    for unit in units:
        area, source = unit.voting_area()
        rows.append(
            {
                "unit": unit,
                "entrance": unit.node.name if unit.node_id != building_pk else "",
                "area": area,
                "source": dict(Unit.AREA_SOURCES).get(source, ""),
                # The list never unmasks: names only, masked, designated voter first.
                "owners": [
                    (
                        pii.mask_name(o.person.name) if o.person.kind == "natural" else o.person.name,
                        o.is_designated_voter,
                    )
                    for o in unit.current_owners
                ],
            }
        )
    return rows


@require_GET
@staff_required
def browse(request):
    tops = selectors.top_scope_nodes(request.user)
    context = {"tops": tops}
    if len(tops) == 1:
        context["node"] = tops[0]
        context["children"] = selectors.children_page(tops[0], request.GET.get("after", "")[:100])
    return render(request, "registry/browse.html", context)


@require_GET
@staff_required
def node_detail(request, pk: int):
    node = get_object_or_404(selectors.visible_nodes(request.user).select_related("level", "profile"), pk=pk)
    plan = selectors.LevelPlan.load()
    kind = plan.page_kind(node.level)
    context = {"node": node, "crumbs": _crumbs(request.user, node), "kind": kind}
    if kind == "units":
        after = selectors.parse_after_id(request.GET.get("after"))
        page = selectors.units_page(node, after)
        context["units"] = page
        context["unit_rows"] = _unit_rows(page.rows, node.pk)
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
@staff_required
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
        "crumbs": _crumbs(request.user, unit.node) + [(unit.node, True)],
        "view": view,
        "area": area,
        "area_source": dict(Unit.AREA_SOURCES).get(source, ""),
        "can_reveal": allowed and not reveal,
        "revealed": reveal,
    }
    return render(request, "registry/unit.html", context)


@never_cache
@require_GET
@staff_required
def search(request):
    form = SearchForm(request.GET or None)
    context = {"form": form, "q": ""}
    if form.is_valid() and form.cleaned_data["q"]:
        q = form.cleaned_data["q"]
        people = selectors.people_for_search(request.user, q)
        context.update(q=q, people=people, units=None, nodes=None)
        if not people.kind:  # a phone or ID number is looked up exactly, never matched against names
            context.update(nodes=selectors.search_nodes(request.user, q), units=selectors.search_units(request.user, q))
        if context["people"].people:
            context["people_rows"] = [
                (selectors.show_person(p), p.shown_ownerships, p.shown_residences) for p in context["people"].people
            ]
    return render(request, "registry/search.html", context)
