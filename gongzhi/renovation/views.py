"""Renovation pages: residents on a phone (their building's menu with their cost, their order, the timeline,
their defects), workers (tallies, consent, door-to-door list), the contractor (progress, defects) and the
supervision group (inspections, acceptance). Every page asks the gate; every change calls an action."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core import pii
from gongzhi.core.gate import allows, check, gated_object, permission_required
from gongzhi.core.models import Upload
from gongzhi.core.roles import roles_with
from gongzhi.core.rules import scope_q
from gongzhi.organizations.models import Organization
from gongzhi.registry.models import AreaNode, Ownership, Person, Residence, Unit, UnitSet
from gongzhi.renovation import actions, forms, links, photos, selectors, spots
from gongzhi.renovation.actions import RenovationError
from gongzhi.renovation.models import Defect, MenuCategory, MenuItem, Order, Plan, PlanLine, Project, WorkItem

PROJECTS = Project.objects.select_related("scope", "contractor", "supervisor", "party_branch")
PAGE = 50


def _shown(exc: RenovationError) -> str:
    return exc.shown(get_language())


def _add_error(form, exc: RenovationError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, _shown(exc))


def _posted(request, *, files: bool = False) -> tuple:
    """Form data for a POST (even an empty one, so a blank submission is validated), none for a GET."""
    if request.method != "POST":
        return (None, None) if files else (None,)
    return (request.POST, request.FILES) if files else (request.POST,)


def _upload(file) -> tuple[bytes, str] | None:
    return (file.read(), file.name) if file else None


def visible_projects(user, *, after: int | None = None) -> list[Project]:
    qs = selectors.visible_projects(user).select_related("scope", "contractor", "supervisor", "party_branch")
    if after:
        qs = qs.filter(id__lt=after)
    return list(qs.order_by("-id")[:PAGE])


@permission_required("renovation.view_menu")
def start(request):
    projects = [
        p
        for p in visible_projects(request.user, after=_int(request.GET.get("after")))
        if allows(request.user, "renovation.view_project", p)
    ]
    return render(
        request,
        "renovation/start.html",
        {
            "projects": projects,
            "next_after": projects[-1].pk if len(projects) == PAGE else None,
            "can_manage_menu": allows(request.user, "renovation.manage_menu"),
            "can_add": allows(request.user, "renovation.add_project"),
        },
    )


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@permission_required("renovation.manage_menu")
def menu(request):
    """The district's menu: its categories and items with cost, funding split, cap and consent rule."""
    items = MenuItem.objects.filter(active=True).select_related("category").prefetch_related("depends_on")
    q = scope_q(request.user, roles_with("renovation.manage"), "path")
    if q is not None:
        # a menu belongs to a district; a worker in a community reads its district's menu
        districts = {
            p.strip("/").split("/")[0] for _r, p in request.user.role_assignments.values_list("role", "scope_path")
        }
        items = items.filter(district_id__in=[int(d) for d in districts if d.isdigit()])
    district = _user_district(request.user)
    can_add = district is not None and allows(request.user, "renovation.manage_menu", district)
    items = list(items.annotate(_gz_planned=Exists(PlanLine.objects.filter(item=OuterRef("pk"))))[:500])
    for item in items:
        item.can_edit = allows(request.user, "renovation.change_menu_item", item)
        item.in_plan = item._gz_planned
    return render(request, "renovation/menu.html", {"items": items, "can_add_item": can_add})


def _project(request, pk: int, perm: str = "renovation.view_project") -> Project:
    return gated_object(request, PROJECTS, pk=pk, perm=perm, view_perm="renovation.view_project")


@permission_required("renovation.view_menu")
def project(request, pk: int):
    p = _project(request, pk)
    user = request.user
    mine = selectors.my_households(p, user)
    bills = []
    if mine and allows(user, "renovation.view_project", p):
        items = selectors.menu_items(p)
        for h in mine[:5]:
            b = selectors.bill(p, h.unit_id, items)
            orders = selectors.orders_of(p, h.unit_id)
            bills.append({"bill": b, "orders": orders, "lines": [(ln, orders.get(ln.item.pk)) for ln in b.lines]})
    work_items = list(p.work_items.all())
    return render(
        request,
        "renovation/project.html",
        {
            "project": p,
            "bills": bills,
            "progress_text": f"{float(selectors.project_progress(p, work_items)):.0f}",
            "work_items": work_items,
            "funding": list(p.funding.all()),
            "branch_members": list(p.party_branch.memberships.filter(until__isnull=True).select_related("person"))
            if p.party_branch_id
            else [],
            "my_defects": _with_desk(
                list(p.defects.filter(reported_by=user).select_related("plan", "photo_before", "photo_after")[:20]),
                user,
            )
            if user.is_authenticated
            else [],
            "can_order": allows(user, "renovation.order", p),
        },
    )


# --- ordering (one question per page, check your answers, confirmation) ------------------------------------------


def _my_unit(request, p: Project, unit_id: int):
    for h in selectors.my_households(p, request.user):
        if h.unit_id == unit_id:
            return h
    raise Http404


@permission_required("renovation.view_menu")
def order_item(request, pk: int, unit_id: int, item_id: int):
    p = _project(request, pk, "renovation.order")
    h = _my_unit(request, p, unit_id)
    item = get_object_or_404(p.menu.select_related("category"), pk=item_id)
    line = selectors.bill(p, unit_id, [item]).lines[0]
    key = f"renovation-order-{p.pk}-{unit_id}-{item_id}"
    existing = Order.objects.filter(project=p, unit_id=unit_id, item=item).first()
    initial = request.session.get(key) or (
        {"answer": "yes" if existing.agrees else "no", "willing_to_pay": existing.willing_to_pay} if existing else None
    )
    form = forms.AgreeForm(*_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        request.session[key] = form.cleaned_data
        return redirect("renovation:order-check", pk=p.pk, unit_id=unit_id, item_id=item.pk)
    return render(
        request,
        "renovation/order_item.html",
        {"project": p, "household": h, "item": item, "line": line, "form": form},
        status=400 if form.errors else 200,
    )


@permission_required("renovation.view_menu")
def order_check(request, pk: int, unit_id: int, item_id: int):
    p = _project(request, pk, "renovation.order")
    h = _my_unit(request, p, unit_id)
    item = get_object_or_404(p.menu.all(), pk=item_id)
    key = f"renovation-order-{p.pk}-{unit_id}-{item_id}"
    answer = request.session.get(key)
    if not answer:
        return redirect("renovation:order-item", pk=p.pk, unit_id=unit_id, item_id=item.pk)
    line = selectors.bill(p, unit_id, [item]).lines[0]
    error = ""
    if request.method == "POST":
        # The share the page showed when the resident pressed confirm (not today's figure, which may differ).
        try:
            shown = Decimal(request.POST.get("seen_share") or "") if request.POST.get("seen_share") else None
        except ArithmeticError:
            shown = Decimal(-1)  # tampered: never equal to a share, so refused as changed
        try:
            order = actions.place_order(
                p,
                actor=request.user,
                unit=Unit.objects.get(pk=unit_id),
                item=item,
                agrees=answer["answer"] == "yes",
                willing_to_pay=answer.get("willing_to_pay", False),
                seen_share=(shown if shown is not None else Decimal(line.share)) if line.share else None,
            )
        except RenovationError as exc:
            error = _shown(exc)
        else:
            request.session.pop(key, None)
            return redirect("renovation:order-done", pk=p.pk, order_id=order.pk)
    return render(
        request,
        "renovation/order_check.html",
        {"project": p, "household": h, "item": item, "line": line, "answer": answer, "error": error},
        status=400 if error else 200,
    )


@permission_required("renovation.view_menu")
def order_done(request, pk: int, order_id: int):
    p = _project(request, pk)
    order = get_object_or_404(Order.objects.select_related("item"), pk=order_id, project=p)
    _my_unit(request, p, order.unit_id)
    return render(request, "renovation/order_done.html", {"project": p, "order": order})


@permission_required("renovation.view_menu")
def proxy_order(request, pk: int):
    """Door to door or by hotline: a worker or operator enters a household's answer on its behalf."""
    p = _project(request, pk, "renovation.take_order")
    rows = selectors.households(p)
    form = forms.ProxyOrderForm(
        *_posted(request),
        units=[(h.unit_id, h.label) for h in rows],
        people=_people(p),
        items=[(i.pk, i.name) for i in selectors.menu_items(p)],
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            actions.place_order(
                p,
                actor=request.user,
                unit=Unit.objects.get(pk=d["unit"]),
                item=MenuItem.objects.get(pk=d["item"]),
                agrees=d["answer"] == "yes",
                willing_to_pay=d["willing_to_pay"],
                channel=d["channel"],
                on_behalf_of=Person.objects.get(pk=d["person"]),
            )
        except RenovationError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("已代为登记点单"))
            return redirect("renovation:proxy-order", pk=p.pk)
    return render(
        request, "renovation/proxy_order.html", {"project": p, "form": form}, status=400 if form.errors else 200
    )


def _people(p: Project) -> list[tuple[int, str]]:
    """The project's residents and owners, names masked, with their unit number (for entering on their behalf)."""
    unit_ids = [h.unit_id for h in selectors.households(p)]
    people = {}
    for r in Residence.objects.filter(unit_id__in=unit_ids, until__isnull=True).select_related("person", "unit"):
        people[r.person_id] = f"{pii.mask_name(r.person.name)}（{r.unit.number}）"
    for o in Ownership.objects.filter(unit_id__in=unit_ids, until__isnull=True).select_related("person", "unit"):
        people.setdefault(o.person_id, f"{pii.mask_name(o.person.name)}（{o.unit.number}）")
    return sorted(people.items(), key=lambda kv: kv[1])


# --- workers: tallies, consent, door-to-door -----------------------------------------------------------------


@permission_required("renovation.view_menu")
def tallies(request, pk: int):
    p = _project(request, pk, "renovation.view_tallies")
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("do") == "adopt":
                actions.adopt_plan(p, actor=request.user)
                messages.success(request, _("改造计划已确定"))
            elif request.POST.get("do") == "vote":
                item = get_object_or_404(p.menu.all(), pk=_int(request.POST.get("item")))
                now = timezone.now()
                actions.route_to_owners_vote(
                    p,
                    actor=request.user,
                    item=item,
                    scope_key=request.POST.get("scope_key", ""),
                    opens_at=now + timedelta(days=16),
                    closes_at=now + timedelta(days=30),
                )
                messages.success(request, _("已发起业主表决"))
            return redirect("renovation:tallies", pk=p.pk)
        except RenovationError as exc:
            error = _shown(exc)
        except PermissionDenied:
            raise
    rows = selectors.plan_lines(p) if p.plan_adopted_at else None
    live = None if rows is not None else selectors.tallies(p)
    return render(
        request,
        "renovation/tallies.html",
        {
            "project": p,
            "lines": rows,
            "tallies": live,
            "error": error,
            "can_adopt": allows(request.user, "renovation.adopt_plan", p),
            "can_route": allows(request.user, "renovation.route_vote", p),
        },
    )


@permission_required("renovation.view_menu")
def door(request, pk: int):
    p = _project(request, pk, "renovation.view_tallies")
    rows = selectors.not_reached(p)
    return render(request, "renovation/door.html", {"project": p, "rows": rows[:500], "count": len(rows)})


@permission_required("renovation.view_menu")
def timeline(request, pk: int):
    p = _project(request, pk)
    staff = allows(request.user, "renovation.view_works", p)
    return render(request, "renovation/timeline.html", {"project": p, "entries": selectors.timeline(p, staff=staff)})


@require_POST
@permission_required("renovation.view_menu")
def survey_frame(request, pk: int):
    """The households that ordered, as a unit set for the satisfaction survey; then on to a new survey of the
    project (for those who may start one)."""
    p = _project(request, pk, "renovation.survey_frame")
    try:
        frame = actions.survey_frame(p, actor=request.user)
    except RenovationError as exc:
        messages.error(request, _shown(exc))
        return redirect("renovation:project", pk=p.pk)
    messages.success(
        request,
        _("已建立问卷对象“%(name)s”（%(n)s 户），建立问卷时请选择它。")
        % {"name": frame.name, "n": frame.units.count()},
    )
    if allows(request.user, "surveys.add_survey"):
        return redirect(f"{reverse('surveys:new')}?project={p.ref}")
    return redirect("renovation:project", pk=p.pk)


# --- works: progress, export, import ---------------------------------------------------------------------------


@permission_required("renovation.view_menu")
def works(request, pk: int):
    p = _project(request, pk, "renovation.view_works")
    work_items = list(p.work_items.select_related("location"))
    shots = selectors.progress_photos(p)
    for w in work_items:
        w.photo_entries = shots.get(w.pk, [])
    defects = list(
        p.defects.select_related("location", "work_item", "plan__building", "photo_before", "photo_after")[:200]
    )
    today = timezone.localdate()
    return render(
        request,
        "renovation/works.html",
        {
            "project": p,
            "work_items": work_items,
            "progress_text": f"{float(selectors.project_progress(p, work_items)):.1f}",
            "defects": [(d, d.is_overdue(today), desk) for d, desk in _with_desk(defects, request.user)],
            "can_report": allows(request.user, "renovation.report_progress", p),
            "form": forms.ProgressForm(),
        },
    )


@require_POST
@permission_required("renovation.view_menu")
def progress(request, pk: int, work_id: int):
    p = _project(request, pk, "renovation.report_progress")
    work = get_object_or_404(WorkItem, pk=work_id, project=p)
    form = forms.ProgressForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            actions.report_progress(
                work,
                actor=request.user,
                progress=form.cleaned_data["progress"],
                note=form.cleaned_data["note"],
                photo=_upload(form.cleaned_data.get("photo")),
            )
            messages.success(request, _("进度已更新"))
            return redirect("renovation:works", pk=p.pk)
        except RenovationError as exc:
            _add_error(form, exc)
    return render(request, "renovation/progress_form.html", {"project": p, "work": work, "form": form}, status=400)


EXPORT_COLUMNS = ("external_id", "name", "budget", "progress", "note")


@permission_required("renovation.view_menu")
def export_works(request, pk: int):
    """Work items in the columns the import reads back (keyed by external id)."""
    from openpyxl import Workbook

    p = _project(request, pk, "renovation.view_works")
    wb = Workbook()
    ws = wb.active
    ws.title = "progress"
    ws.append(list(EXPORT_COLUMNS))
    for w in p.work_items.all():
        ws.append([w.external_id, w.name, f"{w.budget:.2f}", w.progress, ""])
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(
        buf.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="project-{p.pk}-progress.xlsx"'
    return response


def read_rows(data: bytes) -> list[dict]:
    """Rows of the first sheet under the export's header; a clear error for anything else."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable file is the same answer to the user
        raise RenovationError(
            "无法读取此文件，请上传导出的 Excel 表", "cannot read this file; upload the exported workbook", field="file"
        ) from None
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [str(c or "").strip() for c in next(rows, ())]
    missing = [c for c in ("external_id", "progress") if c not in header]
    if missing:
        raise RenovationError(
            f"表头缺少列：{'、'.join(missing)}", f"the header lacks: {', '.join(missing)}", field="file"
        )
    out = []
    for values in rows:
        if values is None or all(v in (None, "") for v in values):
            continue
        out.append({k: ("" if v is None else v) for k, v in zip(header, values, strict=False)})
        if len(out) > 5000:
            raise RenovationError("一次最多导入5000行", "at most 5,000 rows at a time", field="file")
    return out


@permission_required("renovation.view_menu")
def import_works(request, pk: int):
    p = _project(request, pk, "renovation.report_progress")
    form = forms.ImportForm(*_posted(request, files=True))
    report = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            rows = read_rows(form.cleaned_data["file"].read())
            report = actions.import_progress(p, actor=request.user, rows=rows, dry_run=not form.cleaned_data["apply"])
            if report.applied:
                messages.success(request, _("已导入 %(n)s 行") % {"n": len(report.rows)})
                return redirect("renovation:works", pk=p.pk)
            if not report.ok:
                status = 400
        except RenovationError as exc:
            _add_error(form, exc)
            status = 400
    elif request.method == "POST":
        status = 400
    return render(request, "renovation/import.html", {"project": p, "form": form, "report": report}, status=status)


# --- defects ---------------------------------------------------------------------------------------------------


def _with_desk(defects: list[Defect], user) -> list[tuple[Defect, links.DeskLink | None]]:
    """Each defect with the service-desk request filed for it (its reference and current state), if any."""
    desk = links.desk_links([d.pk for d in defects], user)
    return [(d, desk.get(d.pk)) for d in defects]


def _locations(p: Project) -> list[tuple[int, str]]:
    nodes = AreaNode.objects.filter(path__startswith=p.path, level__code__in=("building", "entrance")).select_related(
        "parent"
    )
    return [(n.pk, f"{n.parent.name if n.level_id and n.parent_id else ''}{n.name}") for n in nodes[:300]]


@permission_required("renovation.view_menu")
def report_defect(request, pk: int):
    """Report a defect; where the project has plans, the reporter clicks the spot on one (see `_plan_click`)."""
    p = _project(request, pk, "renovation.report_defect")
    for_residents = allows(request.user, "renovation.report_defect_for", p)
    plans = list(p.plans.select_related("building"))
    choices = {
        "locations": _locations(p),
        "people": _people(p) if for_residents else None,
        "plans": [(plan.pk, plan.label) for plan in plans],
    }
    click = _plan_click(request.POST, plans) if request.method == "POST" else None
    if click is not None:
        # A click on a plan marks the spot and shows the form again with everything typed so far; the reporter
        # then checks and submits. Nothing is written.
        return _placed(request, p, plans, choices, click)
    form = forms.DefectForm(*_posted(request, files=True), **choices)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        person = Person.objects.filter(pk=d["person"]).first() if d.get("person") else None
        source = Defect.Source.RESIDENT
        if person is not None:
            pass  # entered for a resident (hotline, door to door): the resident's defect
        elif allows(request.user, "renovation.inspect", p):
            source = Defect.Source.INSPECTOR
        elif allows(request.user, "renovation.sign_as_supervision", p):
            source = Defect.Source.SUPERVISION
        try:
            actions.report_defect(
                p,
                actor=request.user,
                source=source,
                description=d["description"],
                deadline=d["deadline"],
                location=AreaNode.objects.filter(pk=d["location"]).first() if d["location"] else None,
                spot=d["spot"],
                floor=d["floor"],
                plan=next((plan for plan in plans if plan.pk == d.get("plan")), None),
                plan_xy=(d["plan_x"], d["plan_y"]),
                on_behalf_of=person,
                photo_before=_upload(d.get("photo")),
            )
        except RenovationError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("问题已登记，施工单位将收到整改通知"))
            return redirect("renovation:project", pk=p.pk)
    return _defect_form(request, p, plans, form, status=400 if form.errors else 200)


@dataclass(frozen=True)
class PlanClick:
    """A click on one of the form's plans: where, in percent (None: outside the picture), or a key press."""

    plan: Plan
    at: tuple[Decimal, Decimal] | None = None
    key_press: bool = False


def _plan_click(data, plans: list[Plan]) -> PlanClick | None:
    """The plan clicked (`<input type="image" name="spot-<plan id>">` sends spot-<id>.x and .y, in the picture's
    own pixels) and where; None for the submit button. (0, 0) is how a browser sends a press of Enter or Space on
    the picture: no spot, so the reporter is pointed to the numbers instead."""
    for plan in plans:
        x, y = data.get(f"spot-{plan.pk}.x"), data.get(f"spot-{plan.pk}.y")
        if x is None and y is None:
            continue
        if x == "0" and y == "0":
            return PlanClick(plan, key_press=True)
        return PlanClick(plan, spots.click_to_percent(x, y, plan.width, plan.height))
    return None


def _placed(request, p: Project, plans: list[Plan], choices: dict, click: PlanClick):
    initial = {name: request.POST.get(name, "") for name in forms.DefectForm.base_fields if name != "photo"}
    initial["plan"] = click.plan.pk
    if click.key_press:  # no spot from the picture: the numbers are opened below it
        form = forms.DefectForm(initial=initial, **choices)
        note = _("请在“用数字填写位置”中填写问题在平面图上的位置。")
        return _defect_form(request, p, plans, form, note=note, numbers_open=True)
    if click.at is None:
        data = request.POST.copy()
        data["plan"] = str(click.plan.pk)
        form = forms.DefectForm(data, **choices)
        form.full_clean()
        form.errors.clear()  # only this error: the rest of the form is still being filled in
        form.add_error("plan", _("所点的位置不在平面图内，请在图上重新点选"))
        return _defect_form(request, p, plans, form, status=400)
    initial["plan_x"], initial["plan_y"] = click.at
    form = forms.DefectForm(initial=initial, **choices)
    note = _("已在平面图上标出您点的位置。请核对后提交；也可以再点一次改正。")
    if request.FILES:
        note += " " + _("所选的照片未保存，请在提交前重新选择。")
    return _defect_form(request, p, plans, form, note=note)


def _defect_form(
    request, p: Project, plans: list[Plan], form, *, status: int = 200, note: str = "", numbers_open: bool = False
):
    """The report form; the chosen plan (sent, or set by a click) carries the marker of the position given."""
    chosen = _int(form["plan"].value())
    marks = []
    try:
        x, y = Decimal(str(form["plan_x"].value())), Decimal(str(form["plan_y"].value()))
        if x.is_finite() and y.is_finite() and 0 <= x <= 100 and 0 <= y <= 100:
            marks = [{"n": 1, "x": x, "y": y}]
    except ArithmeticError:
        pass
    rows = [
        {
            "plan": plan,
            "src": reverse("renovation:plan-image", args=[p.pk, plan.pk]),
            "marks": marks if plan.pk == chosen else [],
        }
        for plan in plans
    ]
    numbers_open = numbers_open or any(form[f].errors for f in forms.DefectForm.PLAN_FIELDS)
    return render(
        request,
        "renovation/defect_form.html",
        {"project": p, "form": form, "plans": rows, "note": note, "numbers_open": numbers_open},
        status=status,
    )


# --- plans (平面图) -------------------------------------------------------------------------------------------


@permission_required("renovation.view_menu")
def plans(request, pk: int):
    """The project's plans, and for its officers the upload of a new one."""
    p = _project(request, pk, "renovation.view_plan")
    can_upload = allows(request.user, "renovation.upload_plan", p)
    form = forms.PlanForm(*_posted(request, files=True), buildings=_locations(p)) if can_upload else None
    if request.method == "POST":
        check(request.user, "renovation.upload_plan", p)
        assert form is not None
        if form.is_valid():
            d = form.cleaned_data
            building = AreaNode.objects.filter(pk=d["building"]).first() if d["building"] else None
            try:
                plan = actions.upload_plan(
                    p,
                    actor=request.user,
                    title=d["title"],
                    building=building,
                    floor=d["floor"],
                    image=(d["image"].read(), d["image"].name),
                )
            except RenovationError as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("平面图已上传"))
                return redirect("renovation:plan", pk=p.pk, plan_id=plan.pk)
    rows = list(p.plans.select_related("building"))
    open_defects = Defect.objects.filter(plan__project=p).exclude(status=Defect.Status.CLOSED)
    counts = dict(open_defects.values("plan").annotate(n=Count("id")).values_list("plan", "n"))
    for plan in rows:
        plan.open_defects = counts.get(plan.pk, 0)
    return render(
        request,
        "renovation/plans.html",
        {"project": p, "plans": rows, "form": form, "can_works": allows(request.user, "renovation.view_works", p)},
        status=400 if form is not None and form.errors else 200,
    )


def open_defect_marks(plans: list[Plan]) -> dict[int, list[dict]]:
    """Each plan's open defects (not closed), numbered in the order they were reported, for markers and a list
    (one query for all the plans)."""
    defects = Defect.objects.filter(plan__in=plans, plan_x__isnull=False).exclude(status=Defect.Status.CLOSED)
    out: dict[int, list[dict]] = {plan.pk: [] for plan in plans}
    for d in defects.select_related("location").order_by("registered_at", "id")[:1000]:
        marks = out[d.plan_id]
        marks.append({"n": len(marks) + 1, "x": d.plan_x, "y": d.plan_y, "defect": d})
    return out


@permission_required("renovation.view_menu")
def plan(request, pk: int, plan_id: int):
    """A plan with its open defects as numbered markers and, beside it, the same numbers as a list."""
    p = _project(request, pk, "renovation.view_works")
    plan = get_object_or_404(Plan.objects.select_related("building"), pk=plan_id, project=p)
    marks = open_defect_marks([plan])[plan.pk]
    today = timezone.localdate()
    for m in marks:
        m["overdue"] = m["defect"].is_overdue(today)
    return render(
        request,
        "renovation/plan.html",
        {"project": p, "plan": plan, "marks": marks, "src": reverse("renovation:plan-image", args=[p.pk, plan.pk])},
    )


@permission_required("renovation.view_menu")
def plan_image(request, pk: int, plan_id: int):
    """A plan's picture, privately: for those who see the project (a household places its defect on it)."""
    p = _project(request, pk, "renovation.view_plan")
    plan = get_object_or_404(Plan.objects.select_related("image"), pk=plan_id, project=p)
    return _photo_response(plan.image, False)


def defect_plan_image(request, token: str):
    """The picture of the plan the defect is placed on, for the contractor's link: the token is the authority."""
    defect = Defect.objects.select_related("plan__image").filter(token=token).first()
    if defect is None or defect.plan is None:
        raise Http404
    return _photo_response(defect.plan.image, False)


def _photo_response(upload: Upload | None, thumb: bool) -> HttpResponse:
    if upload is None or not upload.file:
        raise Http404
    if thumb:
        response = HttpResponse(photos.thumbnail(upload), content_type="image/jpeg")
    else:
        response = FileResponse(upload.file.open("rb"), content_type=upload.content_type)
    response["Cache-Control"] = "private, max-age=3600"  # personal pictures: never in a shared cache
    return response


@permission_required("renovation.view_menu")
def photo(request, pk: int, key):
    """A photo of the project (defect, progress, inspection, milestone), `?thumb=1` for the thumbnail. Those who
    see the works see them all; the resident who reported a defect sees that defect's photos."""
    p = _project(request, pk)
    upload = Upload.objects.filter(key=key).first()
    if upload is None or not photos.belongs_to(p, upload):
        raise Http404
    defect = photos.defect_of_photo(p, upload)
    if defect is None or defect.reported_by_id != request.user.pk:
        check(request.user, "renovation.view_works", p)
    return _photo_response(upload, bool(request.GET.get("thumb")))


def defect_photo(request, token: str, which: str):
    """The defect's photo before (or after) the fix, for the contractor's link: the token is the authority."""
    defect = Defect.objects.select_related("photo_before", "photo_after").filter(token=token).first()
    if defect is None or which not in ("before", "after"):
        raise Http404
    return _photo_response(getattr(defect, f"photo_{which}"), bool(request.GET.get("thumb")))


def defect_answer(request, token: str):
    """The contractor's link (no account): see the defect and report the fix."""
    defect = (
        Defect.objects.select_related("project", "location", "plan", "photo_before", "photo_after")
        .filter(token=token)
        .first()
    )
    if defect is None:
        raise Http404
    form = forms.TokenAnswerForm(*_posted(request, files=True))
    if request.method == "POST" and form.is_valid():
        try:
            actions.resolve_defect_by_token(
                token,
                actor=request.user if request.user.is_authenticated else None,
                name=form.cleaned_data["name"],
                note=form.cleaned_data["note"],
                photo_after=_upload(form.cleaned_data.get("photo")),
            )
        except RenovationError as exc:
            _add_error(form, exc)
        else:
            return redirect("renovation:defect-answer", token=token)
    return render(
        request,
        "renovation/defect_answer.html",
        {
            "defect": defect,
            "form": form,
            "overdue": defect.is_overdue(),
            "open": defect.status == Defect.Status.REGISTERED,
            "plan_src": reverse("renovation:defect-plan-image", args=[token]) if defect.plan_id else "",
        },
        status=400 if form.errors else 200,
    )


@require_POST
@permission_required("renovation.view_menu")
def defect_decide(request, pk: int, defect_id: int):
    p = _project(request, pk, "renovation.view_works")
    defect = get_object_or_404(Defect, pk=defect_id, project=p)
    check(request.user, "renovation.close_defect", defect)
    try:
        if request.POST.get("do") == "close":
            actions.close_defect(defect, actor=request.user)
            messages.success(request, _("问题已销项"))
        else:
            form = forms.RejectForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("请填写退回理由"))
                return redirect("renovation:works", pk=p.pk)
            actions.reject_fix(defect, actor=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("已退回施工单位"))
    except RenovationError as exc:
        messages.error(request, _shown(exc))
    return redirect("renovation:works", pk=p.pk)


# --- supervision: inspections, acceptance ----------------------------------------------------------------------


@permission_required("renovation.view_menu")
def supervision(request, pk: int):
    p = _project(request, pk, "renovation.view_works")
    user = request.user
    inspection_form = forms.InspectionForm(prefix="i")
    error = ""
    status = 200
    if request.method == "POST":
        do = request.POST.get("do")
        try:
            if do == "inspect":
                check(user, "renovation.inspect", p)
                inspection_form = forms.InspectionForm(request.POST, prefix="i")
                if inspection_form.is_valid():
                    actions.record_inspection(
                        p,
                        actor=user,
                        kind=inspection_form.cleaned_data["kind"],
                        checklist=inspection_form.checklist_rows(),
                        summary=inspection_form.cleaned_data["summary"],
                    )
                    return redirect("renovation:supervision", pk=p.pk)
                status = 400
            elif do == "sign":
                work = get_object_or_404(WorkItem, pk=_int(request.POST.get("work")), project=p)
                form = forms.SignForm(request.POST)
                if form.is_valid():
                    actions.sign_acceptance(
                        work, actor=user, signer=form.cleaned_data["signer"], checklist=form.checklist_rows()
                    )
                    messages.success(request, _("已签字"))
                    return redirect("renovation:supervision", pk=p.pk)
                error, status = _("签字方无效"), 400
            elif do == "accept":
                actions.accept_project(p, actor=user)
                messages.success(request, _("项目已通过竣工验收，结果已公示"))
                return redirect("renovation:project", pk=p.pk)
        except RenovationError as exc:
            error, status = _shown(exc), exc.status
    work_items = list(p.work_items.prefetch_related("signatures"))
    rows = []
    for w in work_items:
        signed = {s.signer: s for s in w.signatures.all()}
        rows.append({"work": w, "signed": signed})
    blockers = actions.acceptance_blockers(p) if p.stage == Project.Stage.WORKS else []
    en = (get_language() or "").startswith("en")
    project_plans = list(p.plans.select_related("building")[:20])
    marks = open_defect_marks(project_plans)
    plan_rows = [
        {"plan": plan, "src": reverse("renovation:plan-image", args=[p.pk, plan.pk]), "marks": marks[plan.pk]}
        for plan in project_plans
    ]
    return render(
        request,
        "renovation/supervision.html",
        {
            "project": p,
            "inspections": list(p.inspections.select_related("inspector", "photo")[:100]),
            "inspection_form": inspection_form,
            "rows": rows,
            "sign_form": forms.SignForm(),
            "can_inspect": allows(user, "renovation.inspect", p),
            "can_sign_supervision": allows(user, "renovation.sign_as_supervision", p),
            "can_sign_street": allows(user, "renovation.sign_as_street_office", p),
            "can_accept": allows(user, "renovation.accept_project", p),
            "blockers": [b[1] if en else b[0] for b in blockers],
            "plans": plan_rows,
            "error": error,
        },
        status=status,
    )


def reverse_project(p: Project) -> str:
    return reverse("renovation:project", args=[p.pk])


# --- officers: new project, manage a project -------------------------------------------------------------------


@permission_required("renovation.add_project")
def new_project(request):
    q = scope_q(request.user, roles_with("renovation.manage"), "scope__path")
    sets = UnitSet.objects.select_related("scope").order_by("-id")
    items = MenuItem.objects.filter(active=True).select_related("category")
    if q is not None:
        sets = sets.filter(q)
        districts = {
            p.strip("/").split("/")[0] for p in request.user.role_assignments.values_list("scope_path", flat=True)
        }
        items = items.filter(district_id__in=[int(d) for d in districts if d.isdigit()])
    form = forms.ProjectForm(
        *_posted(request),
        unit_sets=[(s.pk, f"{s.name}（{s.get_kind_display()}）") for s in sets[:300]],
        items=[(i.pk, f"{i.category.label} · {i.name}") for i in items[:300]],
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        unit_set = sets.filter(pk=d["unit_set"]).first()
        if unit_set is None:
            form.add_error("unit_set", _("请选择您管辖范围内的房屋集合"))
        else:
            try:
                project = actions.create_project(
                    actor=request.user,
                    name=d["name"],
                    unit_set=unit_set,
                    menu=list(items.filter(pk__in=d["menu"])),
                    budget=d["budget"],
                )
            except RenovationError as exc:
                _add_error(form, exc)
            except PermissionDenied:
                form.add_error("unit_set", _("您不能在此范围建立项目"))
            else:
                messages.success(request, _("项目已建立"))
                return redirect("renovation:manage", pk=project.pk)
    return render(request, "renovation/new_project.html", {"form": form}, status=400 if form.errors else 200)


@permission_required("renovation.view_menu")
def manage(request, pk: int):
    """The officer's page of one project: parties, funding, work items, milestones, the temporary party branch,
    starting the works."""
    p = _project(request, pk, "renovation.change_project")
    orgs = Organization.objects.filter(dissolved__isnull=True).filter(
        Q(path__startswith=p.path) | Q(path__in=_ancestors(p.path))
    )
    contractors = [(o.pk, o.name) for o in orgs.filter(kind__code="contractor")[:100]]
    groups = [(o.pk, o.name) for o in orgs.filter(kind__code="supervision_group")[:100]]
    do = request.POST.get("do") if request.method == "POST" else None
    bound = {
        "parties": forms.PartiesForm(
            request.POST if do == "parties" else None,
            contractors=contractors,
            groups=groups,
            initial={"contractor": p.contractor_id, "supervisor": p.supervisor_id},
        ),
        "funding": forms.FundingForm(request.POST if do == "funding" else None, prefix="f"),
        "work": forms.WorkItemForm(request.POST if do == "work" else None, prefix="w"),
        "milestone": forms.MilestoneForm(request.POST if do == "milestone" else None, prefix="m"),
    }
    error = ""
    if do:
        try:
            form = bound.get(do)
            if do == "start":
                actions.start_works(p, actor=request.user)
                messages.success(request, _("已开工"))
                return redirect("renovation:manage", pk=p.pk)
            if form is not None and form.is_valid():
                d = form.cleaned_data
                if do == "parties":
                    actions.set_parties(
                        p,
                        actor=request.user,
                        contractor=orgs.filter(pk=d["contractor"]).first() if d["contractor"] else None,
                        supervisor=orgs.filter(pk=d["supervisor"]).first() if d["supervisor"] else None,
                    )
                elif do == "funding":
                    actions.add_funding(p, actor=request.user, source=d["source"], amount=d["amount"], note=d["note"])
                elif do == "work":
                    actions.add_work_item(
                        p, actor=request.user, external_id=d["external_id"], name=d["name"], budget=d["budget"]
                    )
                elif do == "milestone":
                    actions.add_milestone(
                        p,
                        actor=request.user,
                        title=d["title"],
                        on=d["on"],
                        publication_date=d["publication_date"],
                        description=d["description"],
                    )
                messages.success(request, _("已保存"))
                return redirect("renovation:manage", pk=p.pk)
        except RenovationError as exc:
            if form is not None and do in bound:
                _add_error(bound[do], exc)
            else:
                error = _shown(exc)
    status = 400 if error or any(f.errors for f in bound.values()) else 200
    return render(
        request,
        "renovation/manage.html",
        {
            "project": p,
            "error": error,
            "funding": list(p.funding.all()),
            "work_items": list(p.work_items.all()),
            "milestones": list(p.milestones.all()),
            **bound,
        },
        status=status,
    )


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def _user_district(user) -> AreaNode | None:
    """The district (top node) of the reader's own scope."""
    ids = sorted(
        {
            int(p.strip("/").split("/")[0])
            for p in user.role_assignments.values_list("scope_path", flat=True)
            if p.strip("/")
        }
    )
    return AreaNode.objects.filter(pk__in=ids, parent__isnull=True).first()


@permission_required("renovation.manage_menu")
def new_menu_item(request):
    """A new item on the district's menu (the district of the officer's own scope)."""
    district = _user_district(request.user)
    if district is None:
        raise PermissionDenied("renovation.manage_menu")
    check(request.user, "renovation.manage_menu", district)  # the district's menu: a district administrator
    items = MenuItem.objects.filter(district=district, active=True)
    form = forms.MenuItemForm(
        *_posted(request),
        categories=[(c.pk, c.name) for c in selectors.categories_for(district)],
        items=[(i.pk, i.name) for i in items[:300]],
    )
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        category = MenuCategory.objects.get(pk=d.pop("category"))
        deps = list(items.filter(pk__in=d.pop("depends_on")))
        try:
            actions.create_menu_item(actor=request.user, district=district, category=category, depends_on=deps, **d)
        except RenovationError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("菜单项已添加"))
            return redirect("renovation:menu")
    return render(
        request,
        "renovation/menu_item_form.html",
        {"form": form, "district": district},
        status=400 if form.errors else 200,
    )


EDITABLE_ITEM_FIELDS = (
    "name",
    "description",
    "coverage",
    "unit_cost",
    "cost_basis",
    "share_basis",
    "floor_coefficients",
    "pct_subsidy",
    "pct_residents",
    "pct_units",
    "pct_fund",
    "pct_public_income",
    "household_cap",
    "consent",
    "consent_numerator",
    "consent_denominator",
    "consent_inclusive",
    "matter",
)


@permission_required("renovation.manage_menu")
def edit_menu_item(request, item_id: int):
    """Change a district menu item: until a project offering it adopts its plan; once households have ordered it,
    only its name, description and category (what they agreed to stays)."""
    item = get_object_or_404(MenuItem.objects.select_related("category", "district"), pk=item_id)
    check(request.user, "renovation.manage_menu", item.district)  # out of the reader's districts: refused
    check(request.user, "renovation.change_menu_item", item)
    others = MenuItem.objects.filter(district=item.district, active=True).exclude(pk=item.pk)
    initial = {f: getattr(item, f) for f in EDITABLE_ITEM_FIELDS}
    initial.update(
        category=item.category_id,
        code=item.code,
        floor_coefficients=", ".join(f"{k}:{v}" for k, v in (item.floor_coefficients or {}).items()),
        depends_on=list(item.depends_on.values_list("pk", flat=True)),
    )
    form = forms.MenuItemForm(
        *_posted(request),
        initial=initial,
        categories=[(c.pk, c.name) for c in selectors.categories_for(item.district)],
        items=[(i.pk, i.name) for i in others[:300]],
    )
    form.fields["code"].disabled = True  # the code names the item in orders, plans and exports
    status = 400
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            actions.update_menu_item(
                item,
                actor=request.user,
                category=MenuCategory.objects.get(pk=d["category"]),
                depends_on=list(others.filter(pk__in=d["depends_on"])),
                **{f: d[f] for f in EDITABLE_ITEM_FIELDS},
            )
        except RenovationError as exc:
            _add_error(form, exc)
            status = exc.status
        else:
            messages.success(request, _("菜单项已修改"))
            return redirect("renovation:menu")
    ordered = Order.objects.filter(item=item).exists()
    return render(
        request,
        "renovation/menu_item_form.html",
        {"form": form, "district": item.district, "item": item, "ordered": ordered},
        status=status if form.errors else 200,
    )
