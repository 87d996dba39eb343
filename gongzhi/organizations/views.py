"""Staff pages: organisations by area, an organisation with its members, and the coverage report.

Views read through selectors, change through actions, and ask `user.has_perm(...)` — a node or organisation
outside the user's scope is answered with 404, as if it did not exist.
"""

from __future__ import annotations

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core import pii
from gongzhi.core.rules import scope_paths
from gongzhi.organizations import actions, selectors
from gongzhi.organizations.forms import BuildingForm, MemberForm, OrganizationForm, apply_errors
from gongzhi.organizations.models import LiaisonAssignment, Membership, Organization, OrgKind
from gongzhi.registry import actions as registry_actions
from gongzhi.registry.models import AreaNode, Person, Unit

PAGE = 50


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def scope_node(request, perm: str, param: str = "node") -> AreaNode:
    """The node named by ?node= if the user may see it (else 404); without it, the user's widest scope."""
    user = request.user
    pk = _int(request.GET.get(param))
    if request.GET.get(param) and pk is None:
        raise Http404
    if pk is None:
        if user.is_superuser:
            node = AreaNode.objects.select_related("level").filter(parent__isnull=True).order_by("id").first()
        else:
            paths = scope_paths(user, "staff")
            if not paths:
                raise PermissionDenied
            node = AreaNode.objects.select_related("level").filter(path=paths[0]).first()
        if node is None:
            raise Http404
    else:
        node = get_object_or_404(AreaNode.objects.select_related("level"), pk=pk)
    if not user.has_perm(perm, node):
        hide(user, perm)
    return node


def hide(user, perm: str):
    """Out of scope: 404 for staff (as if it did not exist), 403 for someone who never holds the permission."""
    if not user.has_perm(perm):
        raise PermissionDenied
    raise Http404


def ancestors(node: AreaNode, user=None) -> list[AreaNode]:
    """The node's trail from the root; with `user`, each is marked `.linked` when the reader may open it (a
    liaison's trail shows the district and street as plain text, not as links that answer 404)."""
    nodes = list(AreaNode.objects.filter(pk__in=node.ids_on_path).order_by("depth"))
    for n in nodes:
        n.linked = user is None or user.has_perm("organizations.view_organization", n)
    return nodes


def visible_org(request, pk: int, perm: str = "organizations.view_organization") -> Organization:
    org = get_object_or_404(Organization.objects.select_related("kind", "node", "node__level", "parent"), pk=pk)
    if not request.user.has_perm("organizations.view_organization", org):
        hide(request.user, "organizations.view_organization")
    if perm != "organizations.view_organization" and not request.user.has_perm(perm, org):
        raise PermissionDenied
    return org


# --- coverage ------------------------------------------------------------------------------------------


@login_required
def coverage(request):
    node = scope_node(request, "organizations.view_coverage")
    only_incomplete = request.GET.get("only_incomplete") == "1"
    after = _int(request.GET.get("after"))
    communities = selectors.communities_for(node)
    page = selectors.coverage_for(
        node, after=after, limit=PAGE, only_incomplete=only_incomplete, communities=communities
    )
    per_community, grand = selectors.coverage_totals(node, communities=communities)
    return render(
        request,
        "organizations/coverage.html",
        {
            "node": node,
            "trail": ancestors(node, request.user),
            "page": page,
            "per_community": per_community,
            "grand": grand,
            "only_incomplete": only_incomplete,
            "after": after,
            "children": [c for c in communities if c.path.startswith(node.path) and c.pk != node.pk],
            # A community row links only where the reader may open it (a liaison's compound is inside one).
            "linkable": {c.pk for c in communities if request.user.has_perm("organizations.view_coverage", c)},
        },
    )


@login_required
def coverage_households(request, pk: int):
    compound = get_object_or_404(AreaNode.objects.select_related("level"), pk=pk, level__is_compound=True)
    if not request.user.has_perm("organizations.view_coverage", compound):
        hide(request.user, "organizations.view_coverage")
    rows, next_after = selectors.households_without_liaison(compound, after=_int(request.GET.get("after")), limit=PAGE)
    return render(
        request,
        "organizations/coverage_households.html",
        {
            "compound": compound,
            "trail": ancestors(compound, request.user),
            "rows": rows,
            "next_after": next_after,
            "after": request.GET.get("after"),
        },
    )


@login_required
def coverage_export(request):
    """The coverage table as Excel: rows streamed from the database in keyed chunks into a write-only book."""
    from openpyxl import Workbook

    node = scope_node(request, "organizations.export_coverage")
    only_incomplete = request.GET.get("only_incomplete") == "1"
    yes, no = _("有"), _("无")
    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(_("楼院组织覆盖"))[:31])  # Excel refuses sheet names over 31 characters
    sheet.append(
        [
            _("社区"),
            _("小区"),
            _("楼院"),
            _("楼院编号"),
            _("党组织"),
            _("居民自治组织"),
            _("志愿服务组织"),
            _("住户数"),
            _("无联络员住户数"),
        ]
    )
    for r in selectors.iter_coverage(node, only_incomplete=only_incomplete):
        sheet.append(
            [
                r.community,
                r.parent_name,
                r.name,
                r.compound_id,
                yes if r.has_party else no,
                yes if r.has_self_governance else no,
                yes if r.has_volunteer else no,
                r.households,
                r.households_without_liaison,
            ]
        )
    per_community, grand = selectors.coverage_totals(node)
    totals = book.create_sheet(str(_("按社区合计"))[:31])
    totals.append(
        [
            _("社区"),
            _("楼院数"),
            _("有党组织"),
            _("有居民自治组织"),
            _("有志愿服务组织"),
            _("三类齐全"),
            _("住户数"),
            _("无联络员住户数"),
        ]
    )
    for t in [*per_community, grand]:
        totals.append(
            [
                t.community or _("合计"),
                t.compounds,
                t.with_party,
                t.with_self_governance,
                t.with_volunteer,
                t.with_all_three,
                t.households,
                t.households_without_liaison,
            ]
        )
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    book.save(out)
    out.seek(0)
    filename = f"coverage-{node.pk}-{timezone.localdate():%Y%m%d}.xlsx"
    return FileResponse(
        out,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# --- organisations -------------------------------------------------------------------------------------


@login_required
def organization_list(request):
    node = scope_node(request, "organizations.view_organization")
    kind_code = request.GET.get("kind") or None
    qs = (
        selectors.organizations_under(node, kind_code=kind_code)
        .annotate(member_total=Count("memberships", filter=Q(memberships__until__isnull=True)))
        .order_by("path", "id")
    )
    after = _int(request.GET.get("after"))
    if after:
        last = Organization.objects.filter(pk=after).values("path")
        qs = qs.filter(Q(path__gt=Subquery(last)) | Q(path=Subquery(last), id__gt=after))
    batch = list(qs[: PAGE + 1])
    return render(
        request,
        "organizations/list.html",
        {
            "node": node,
            "trail": ancestors(node, request.user),
            "orgs": batch[:PAGE],
            "next_after": batch[PAGE - 1].pk if len(batch) > PAGE else None,
            "kinds": OrgKind.objects.exclude(code="party_liaison"),
            "kind_code": kind_code,
            "can_add": request.user.has_perm("organizations.add_organization", node),
        },
    )


@login_required
def organization_detail(request, pk: int):
    org = visible_org(request, pk)
    members = [selectors.member_row(m) for m in selectors.current_members(org)]
    return render(
        request,
        "organizations/detail.html",
        {
            "org": org,
            "trail": ancestors(org.node, request.user),
            "members": members,
            "children": org.children.filter(dissolved__isnull=True).select_related("kind", "node"),
            "can_see_parent": org.parent is not None
            and request.user.has_perm("organizations.view_organization", org.parent),
            "can_edit": request.user.has_perm("organizations.change_membership", org) and org.dissolved is None,
        },
    )


@login_required
def organization_create(request):
    node = scope_node(request, "organizations.view_organization")
    if not request.user.has_perm("organizations.add_organization", node):
        raise PermissionDenied
    form = OrganizationForm(request.POST or None, base=node, initial={"node": node.pk})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            org = actions.create_organization(
                actor=request.user,
                kind=d["kind"],
                node=d["node"],
                name=d["name"],
                parent=d["parent"],
                project_ref=d["project_ref"],
                phone=d["phone"],
                founded=d["founded"],
            )
        except ValidationError as e:
            apply_errors(form, e)
        else:
            messages.success(request, _("已创建组织：%(name)s") % {"name": org.name})
            return redirect("organizations:detail", pk=org.pk)
    return render(
        request,
        "organizations/form.html",
        {
            "form": form,
            "node": node,
            "trail": ancestors(node, request.user),
            "title": _("新建组织"),
        },
    )


@login_required
@require_POST
def organization_dissolve(request, pk: int):
    org = visible_org(request, pk, "organizations.dissolve_organization")
    try:
        actions.dissolve_organization(org, actor=request.user)
    except ValidationError as e:
        messages.error(request, "；".join(e.messages))
    else:
        messages.success(request, _("该组织已撤销"))
    return redirect("organizations:detail", pk=org.pk)


@login_required
def member_add(request, pk: int):
    org = visible_org(request, pk, "organizations.change_membership")
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            person = _find_or_create_person(request.user, org, d["name"], d["phone"])
            actions.add_member(
                org, actor=request.user, person=person, role=d["role"], is_party_member=d["is_party_member"]
            )
        except ValidationError as e:
            apply_errors(form, e)
        else:
            messages.success(request, _("已添加成员"))
            return redirect("organizations:detail", pk=org.pk)
    return render(
        request,
        "organizations/member_form.html",
        {"form": form, "org": org, "trail": ancestors(org.node, request.user)},
    )


def _find_or_create_person(actor, org: Organization, name: str, phone: str) -> Person:
    """A registered resident of the organisation's area with this name and phone, or a new person record."""
    existing = (
        Person.objects.filter(name=name.strip(), phone=phone, home_path__startswith=org.path).order_by("id").first()
    )
    if existing is not None:
        return existing
    return registry_actions.create_person(actor=actor, name=name.strip(), phone=phone, home_path=org.path)


@login_required
@require_POST
def member_end(request, pk: int, member_pk: int):
    org = visible_org(request, pk, "organizations.change_membership")
    membership = get_object_or_404(Membership, pk=member_pk, organization=org)
    try:
        actions.end_membership(membership, actor=request.user)
    except ValidationError as e:
        messages.error(request, "；".join(e.messages))
    else:
        messages.success(request, _("该成员已离任，其联系的住户已释放"))
    return redirect("organizations:detail", pk=org.pk)


@login_required
def liaison_households(request, pk: int, member_pk: int):
    """Choose a building, then tick the households this liaison looks after (or release them)."""
    org = visible_org(request, pk, "organizations.assign_liaison")
    membership = get_object_or_404(Membership.objects.select_related("person"), pk=member_pk, organization=org)
    building_form = BuildingForm(request.GET if "building" in request.GET else None, org=org)
    building = building_form.cleaned_data["building"] if building_form.is_bound and building_form.is_valid() else None
    errors: list[str] = []
    if request.method == "POST" and building is not None:
        chosen = list(
            Unit.objects.filter(
                path__startswith=building.path,
                pk__in=[v for v in (_int(x) for x in request.POST.getlist("units")) if v],
            )
        )
        try:
            if request.POST.get("action") == "release":
                n = actions.unassign_liaison(membership, chosen, actor=request.user)
                messages.success(request, _("已释放 %(n)s 户") % {"n": n})
            else:
                made = actions.assign_liaison(membership, chosen, actor=request.user)
                messages.success(request, _("已分配 %(n)s 户") % {"n": len(made)})
        except ValidationError as e:
            errors = e.messages
        else:
            return redirect(f"{request.path}?building={building.pk}")
    units = []
    if building is not None:
        current = LiaisonAssignment.objects.filter(unit_id=OuterRef("pk"), until__isnull=True)
        qs = (
            Unit.objects.filter(path__startswith=building.path)
            .select_related("node")
            .annotate(
                liaison_id=Subquery(current.values("liaison_id")[:1]),
                liaison_name=Subquery(current.values("liaison__person__name")[:1]),
            )
            .order_by("path", "floor", "number")
        )
        units = [
            {
                "unit": u,
                "mine": u.liaison_id == membership.pk,
                "liaison": pii.mask_name(u.liaison_name) if u.liaison_name else "",
            }
            for u in qs[:1000]  # one building; a tower of 1,000 units still fits one page
        ]
    return render(
        request,
        "organizations/liaison_households.html",
        {
            "org": org,
            "membership": membership,
            "liaison_name": pii.mask_name(membership.person.name),
            "building_form": building_form,
            "building": building,
            "units": units,
            "errors": errors,
            "trail": ancestors(org.node, request.user),
            "is_liaison": membership.role == Membership.Role.LIAISON and membership.until is None,
        },
    )


def coverage_url(node: AreaNode) -> str:
    return f"{reverse('organizations:coverage')}?node={node.pk}"
