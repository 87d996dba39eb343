"""Service-desk pages.

Anyone: the public board of a community or street, and the rating page (the SMS link). Residents: report on a
phone (one question per page, check your answers, a reference) and follow their requests. Operators: the
hotline screen (on a caller's behalf) and the follow-up calls. Takers: orders near them and their own.
Dispatchers: the queue, each order's page with the moves they may make, the dashboard and its Excel export.
Every page asks the gate; every change is an action.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core import audit, maps, pii
from gongzhi.core.gate import allows, check, permission_required
from gongzhi.core.ids import parse_id
from gongzhi.core.roles import roles_with
from gongzhi.core.rules import scoped
from gongzhi.organizations.models import Organization
from gongzhi.registry.models import AreaNode, CompoundProfile, Person
from gongzhi.servicedesk import actions, machine, ratings, selectors
from gongzhi.servicedesk.actions import DeskError
from gongzhi.servicedesk.forms import (
    CategoryForm,
    DescriptionForm,
    DispatchForm,
    FollowUpForm,
    HotlineForm,
    PhotoForm,
    PlaceForm,
    RatingForm,
    RatingsFilterForm,
    ReasonForm,
    question_form,
)
from gongzhi.servicedesk.models import Category, FollowUpCall, ServiceRequest
from gongzhi.surveys.actions import rate_settings_for

PICKER_LIMIT = 50


def _message(request, title, text="", status=200, **extra):
    return render(request, "servicedesk/message.html", {"title": title, "text": text, **extra}, status=status)


def _error(form, e: DeskError) -> None:
    field = e.field if e.field in form.fields else None
    form.add_error(field, e.shown)


def _data(request):
    """The POST data of a POST (even an empty one, so its errors show), None otherwise."""
    return request.POST if request.method == "POST" else None


def _after(request) -> int | None:
    return parse_id(request.GET.get("after"))


# --- start ----------------------------------------------------------------------------------------------------
def start(request):
    """The part's front page: what this reader may do here (links shown from the same permissions)."""
    user = request.user
    links = [
        ("servicedesk:report", _("我要反映问题"), _("楼道灯坏了、下水道堵了、有人乱丢大件垃圾、老人需要帮助……"),
         allows(user, "servicedesk.report_request")),
        ("servicedesk:mine", _("我反映的问题"), _("查看办理进度，办结后评价"), allows(user, "servicedesk.report_request")),
        ("servicedesk:hotline", _("热线受理"), _("为来电群众登记诉求"), allows(user, "servicedesk.intake_request")),
        ("servicedesk:calls", _("回访任务"), _("办结后的电话回访：话术与结果"), allows(user, "servicedesk.view_calls")),
        ("servicedesk:near", _("党员接单"), _("我附近待接的工单，以及我已接的工单"), allows(user, "servicedesk.take_request")),
        ("servicedesk:queue", _("社区派单"), _("受理、派单、异议裁定、催办督办、退回重办、归档"),
         allows(user, "servicedesk.dispatch_request")),
        ("servicedesk:dashboard", _("统计看板"), _("按类别、接单方、区域统计，超期工单优先；可导出Excel"),
         allows(user, "servicedesk.view_dashboard")),
        ("servicedesk:ratings", _("服务评价"), _("居民评价的满意率：分子分母、95%区间、是否达标，按区域、类别、月份"),
         allows(user, "servicedesk.view_ratings")),
        ("servicedesk:boards", _("公开看板"), _("各社区、街道的诉求办理情况和三率"), True),
    ]  # fmt: skip
    shown = [(reverse(name), title, text) for name, title, text, ok in links if ok]
    return render(request, "servicedesk/start.html", {"links": shown})


# --- resident reporting (one question per page) ---------------------------------------------------------------
DRAFT = "sd_report"


def _draft(request) -> dict:
    return request.session.get(DRAFT, {})


def _save(request, draft: dict) -> None:
    request.session[DRAFT] = draft
    request.session.modified = True


def _draft_category(draft) -> Category | None:
    return Category.objects.filter(pk=draft.get("category"), active=True).first() if draft.get("category") else None


def _steps(category: Category | None) -> list[str]:
    """The pages of the flow for this category: what, where, each question, describe, photo, check."""
    questions = [f"q:{q.code}" for q in category.questions.all()] if category else []
    return ["category", "place", *questions, "describe", "photo", "check"]


def _step_url(step: str) -> str:
    if step.startswith("q:"):
        return reverse("servicedesk:report_question", args=[step[2:]])
    return reverse({"category": "servicedesk:report", "place": "servicedesk:report_place",
                    "describe": "servicedesk:report_describe", "photo": "servicedesk:report_photo",
                    "check": "servicedesk:report_check"}[step])  # fmt: skip


def _nav(category, step: str) -> dict:
    steps = _steps(category)
    i = steps.index(step)
    return {
        "step": i + 1,
        "steps": len(steps),
        "back": _step_url(steps[i - 1]) if i else None,
        "next_url": _step_url(steps[i + 1]) if i + 1 < len(steps) else None,
    }


@require_http_methods(["GET", "POST"])
@permission_required("servicedesk.report_request")
def report(request):
    """Step 1: what is it about (the catalogue)."""
    draft = _draft(request)
    categories = list(Category.objects.filter(active=True).prefetch_related("questions"))
    form = CategoryForm(_data(request), categories=categories, initial={"category": draft.get("category")})
    if request.method == "POST" and form.is_valid():
        draft = {"category": int(form.cleaned_data["category"])}
        _save(request, draft)
        return redirect(_nav(_draft_category(draft), "category")["next_url"])
    ctx = {"form": form, "title": _("您要反映什么问题？"), **_nav(None, "category")}
    return render(request, "servicedesk/question.html", ctx, status=400 if form.errors else 200)


def _compounds(request, query: str):
    qs = AreaNode.objects.filter(level__is_compound=True)
    if query:
        qs = qs.filter(Q(name__contains=query) | Q(address__contains=query))
    rows = list(qs.order_by("path")[: PICKER_LIMIT + 1])
    return rows[:PICKER_LIMIT], len(rows) > PICKER_LIMIT


def _home_compound(user) -> AreaNode | None:
    person = getattr(user, "person", None)
    if person is None or not person.home_path:
        return None
    ids = [int(p) for p in person.home_path.strip("/").split("/") if p]
    return AreaNode.objects.filter(pk__in=ids, level__is_compound=True).first()


@require_http_methods(["GET", "POST"])
@permission_required("servicedesk.report_request")
def report_place(request):
    """Step 2: where — a compound from the registry (home first), found by its name or address. No coordinates."""
    draft = _draft(request)
    category = _draft_category(draft)
    if category is None:
        return redirect("servicedesk:report")
    query = (request.GET.get("cq") or "").strip()[:50]
    compounds, more = _compounds(request, query)
    home = _home_compound(request.user)
    if home is not None and home not in compounds and not query:
        compounds.insert(0, home)
    chosen = draft.get("node") or (home.pk if home else None)
    point = draft.get("point") or [None, None]
    form = PlaceForm(
        _data(request), compounds=compounds, initial={"node": chosen, "latitude": point[0], "longitude": point[1]}
    )
    if request.method == "POST":
        # The chosen compound may come from a search page: read it by id, not from the listed choices.
        picked = AreaNode.objects.filter(pk=parse_id(request.POST.get("node")) or 0, level__is_compound=True)
        node = picked.first()
        if node is not None and node not in compounds:
            compounds.insert(0, node)
            form = PlaceForm(request.POST, compounds=compounds)
        if form.is_valid() and node is not None:
            draft["node"] = node.pk
            draft["where"] = form.cleaned_data["where"]
            lat, lon = form.point()
            draft["point"] = [str(lat), str(lon)] if lat is not None else None
            _save(request, draft)
            return redirect(_nav(category, "place")["next_url"])
    centre = AreaNode.objects.filter(pk=chosen).first() if chosen else (compounds[0] if compounds else None)
    ctx = {"form": form, "title": _("问题在哪个楼院？"), "query": query, "more": more, "home": home,
           **_nav(category, "place"), **_pick_context(centre)}  # fmt: skip
    return render(request, "servicedesk/place.html", ctx, status=400 if form.errors else 200)


def _pick_context(node: AreaNode | None) -> dict:
    """A map to pick the point on (only when a tile source is configured), centred on the compound where the
    registry knows where it is."""

    def centre() -> tuple[float, float] | None:
        profile = CompoundProfile.objects.filter(node=node, latitude__isnull=False, longitude__isnull=False).first()
        return (float(profile.latitude), float(profile.longitude)) if profile is not None else None

    return maps.pick_context(centre if node is not None else lambda: None)


@require_http_methods(["GET", "POST"])
@permission_required("servicedesk.report_request")
def report_question(request, code: str):
    """Steps 3…: one page for each question the category asks."""
    draft = _draft(request)
    category = _draft_category(draft)
    if category is None or not draft.get("node"):
        return redirect("servicedesk:report")
    q = category.questions.filter(code=code).first()
    if q is None:
        raise Http404
    answers = draft.get("answers", {})
    form = question_form(q, _data(request), initial={"answer": answers.get(code)})
    if request.method == "POST" and form.is_valid():
        answers[code] = form.cleaned_data["answer"]
        draft["answers"] = answers
        _save(request, draft)
        return redirect(_nav(category, f"q:{code}")["next_url"])
    ctx = {"form": form, "title": q.label, **_nav(category, f"q:{code}")}
    return render(request, "servicedesk/question.html", ctx, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@permission_required("servicedesk.report_request")
def report_describe(request):
    draft = _draft(request)
    category = _draft_category(draft)
    if category is None or not draft.get("node"):
        return redirect("servicedesk:report")
    form = DescriptionForm(_data(request), initial={"description": draft.get("description", "")})
    if request.method == "POST" and form.is_valid():
        draft["description"] = form.cleaned_data["description"]
        _save(request, draft)
        return redirect(_nav(category, "describe")["next_url"])
    ctx = {"form": form, "title": _("请说说具体情况"), **_nav(category, "describe")}
    return render(request, "servicedesk/question.html", ctx, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@permission_required("servicedesk.report_request")
def report_photo(request):
    """Optional: photos (taken with the phone's camera); their location metadata is stripped on upload."""
    draft = _draft(request)
    category = _draft_category(draft)
    if category is None or not draft.get("description"):
        return redirect("servicedesk:report")
    form = PhotoForm(_data(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = request.FILES.get("photo")
        try:
            if upload is not None:
                if len(draft.get("photos", [])) >= actions.MAX_PHOTOS:
                    raise DeskError(f"最多上传{actions.MAX_PHOTOS}张照片", "no more photos", "photo")
                stored = actions.stash_photo(upload.read(), upload.name, actor=request.user)
                draft.setdefault("photos", []).append(stored.pk)
                _save(request, draft)
        except DeskError as e:
            _error(form, e)
        else:
            if request.POST.get("action") == "more":
                return redirect("servicedesk:report_photo")
            return redirect("servicedesk:report_check")
    ctx = {
        "form": form,
        "title": _("拍张照片（可不拍）"),
        "photos": len(draft.get("photos", [])),
        **_nav(category, "photo"),
    }
    return render(request, "servicedesk/photo.html", ctx, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@permission_required("servicedesk.report_request")
def report_check(request):
    """Check your answers, then send: the action decides; a refusal names the page to fix."""
    draft = _draft(request)
    category = _draft_category(draft)
    if category is None or not draft.get("description"):
        return redirect("servicedesk:report")
    node = get_object_or_404(AreaNode.objects.select_related("level"), pk=draft["node"])
    labels = {}
    for q in category.questions.all():
        value = draft.get("answers", {}).get(q.code)
        names = {str(v.get("key")): v.get("name") for v in q.values}
        if isinstance(value, list):
            value = "、".join(names.get(v, v) for v in value)
        labels[q.label] = names.get(value, value) if isinstance(value, str) else (value or "")
    error = None
    if request.method == "POST":
        try:
            req = actions.submit_request(
                actor=request.user,
                category=category,
                description=draft["description"] + (f"\n{draft['where']}" if draft.get("where") else ""),
                channel=ServiceRequest.Channel.WEB,
                node=node,
                latitude=(draft.get("point") or [None, None])[0],
                longitude=(draft.get("point") or [None, None])[1],
                answers=draft.get("answers", {}),
                stashed_photos=draft.get("photos", []),
            )
        except DeskError as e:
            error = e.shown
        else:
            request.session.pop(DRAFT, None)
            return redirect("servicedesk:report_done", reference=req.reference)
    ctx = {"category": category, "node": node, "draft": draft, "labels": labels, "error": error,
           "photos": len(draft.get("photos", [])), "title": _("请核对您反映的问题"), **_nav(category, "check")}  # fmt: skip
    return render(request, "servicedesk/check.html", ctx, status=400 if error else 200)


@permission_required("servicedesk.report_request")
def report_done(request, reference: str):
    req = get_object_or_404(ServiceRequest, reference=reference, requester_user=request.user)
    return _message(
        request,
        _("已受理"),
        _("工单号 %(ref)s。派单后我们会发短信告诉您由谁办理、何时办结。") % {"ref": req.reference},
        next_url=reverse("servicedesk:mine"),
        next_label=_("查看我反映的问题"),
    )


@permission_required("servicedesk.report_request")
def mine(request):
    rows, next_after = selectors.my_requests(request.user, _after(request))
    return render(request, "servicedesk/mine.html", {"rows": rows, "next_after": next_after})


# --- hotline --------------------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@permission_required("servicedesk.intake_request")
def hotline(request):
    """热线受理 — one dense screen: the caller's number (looked up in the registry: the caller and their home
    compound, masked), what, which compound (found by name), details. Entered on the caller's behalf."""
    query = (request.GET.get("cq") or "").strip()[:50]
    intake_roles = roles_with("servicedesk.intake")
    in_scope = scoped(AreaNode.objects.filter(level__is_compound=True), request.user, intake_roles)
    listed = in_scope.filter(Q(name__contains=query) | Q(address__contains=query)) if query else in_scope
    compounds = list(listed.order_by("path")[:PICKER_LIMIT])
    categories = list(Category.objects.filter(active=True).prefetch_related("questions"))
    post = _data(request)
    callers = _callers(request, post, intake_roles)
    homes = {p.pk: _home_compound_of(p) for p in callers}
    for home in homes.values():
        if home is not None and home not in compounds:
            compounds.insert(0, home)
    caller = next((p for p in callers if post is not None and str(p.pk) == post.get("caller")), None)
    if post is not None and "lookup" in post:
        initial = {
            k: post.get(k, "") for k in ("requester_phone", "requester_name", "channel", "category", "description")
        }
        if len(callers) == 1 and homes[callers[0].pk] is not None:
            initial["node"] = str(homes[callers[0].pk].pk)
        form = HotlineForm(None, initial=initial, categories=categories, compounds=compounds)
        ctx = {"form": form, "categories": categories, "query": query, "callers": _shown(callers, homes),
               "looked_up": True}  # fmt: skip
        return render(request, "servicedesk/hotline.html", ctx)
    form = HotlineForm(post, categories=categories, compounds=compounds)
    if post is not None and form.is_valid():
        cd = form.cleaned_data
        node = in_scope.filter(pk=cd["node"]).first()
        category = next(c for c in categories if str(c.pk) == cd["category"])
        answers = {q.code: post.get(f"attribute[{q.code}]", "") for q in category.questions.all()}
        for q in category.questions.all():
            if q.datatype == "multivaluelist":
                answers[q.code] = post.getlist(f"attribute[{q.code}]")
        try:
            req = actions.submit_request(
                actor=request.user,
                category=category,
                description=cd["description"],
                channel=cd["channel"],
                node=node,
                answers=answers,
                requester_name=cd["requester_name"],
                requester_phone=cd["requester_phone"],
                on_behalf_of=caller,
            )
        except DeskError as e:
            _error(form, e)
        else:
            messages.success(request, _("已受理，工单号 %(ref)s") % {"ref": req.reference})
            return redirect("servicedesk:hotline")
    ctx = {"form": form, "categories": categories, "query": query, "callers": _shown(callers, homes)}
    return render(request, "servicedesk/hotline.html", ctx, status=400 if form.errors else 200)


def _shown(callers, homes) -> list[tuple[int, str, str]]:
    """(id, masked name, home compound) — the operator confirms the caller without the full name on screen."""
    return [(p.pk, pii.mask_name(p.name), homes[p.pk].name if homes.get(p.pk) else "") for p in callers]


def _callers(request, post, roles) -> list[Person]:
    """Registered people of the operator's scope with the caller's number (at most five)."""
    if post is None:
        return []
    try:
        phone = pii.normalize_phone(post.get("requester_phone", ""))
    except pii.PiiError:
        return []
    people = Person.objects.filter(phone=phone, erased_at__isnull=True).exclude(home_path="")
    return list(scoped(people, request.user, roles, field="home_path").order_by("id")[:5])


def _home_compound_of(person: Person) -> AreaNode | None:
    ids = [int(p) for p in person.home_path.strip("/").split("/") if p]
    return AreaNode.objects.filter(pk__in=ids, level__is_compound=True).first()


# --- the order's page and its moves ---------------------------------------------------------------------------
def _order(request, pk: int) -> ServiceRequest:
    req = get_object_or_404(
        ServiceRequest.objects.select_related("category", "compound", "node", "taker", "assignee", "assignee_org"),
        pk=pk,
    )
    check(request.user, "servicedesk.view_request", req, view_perm="servicedesk.view_request")
    return req


MOVES = [
    ("dispatch", "servicedesk.dispatch_request"), ("take", "servicedesk.take_request"),
    ("object", "servicedesk.object_request"), ("decide", "servicedesk.decide_objection"),
    ("contact", "servicedesk.contact_request"), ("start", "servicedesk.start_request"),
    ("extend", "servicedesk.extend_request"), ("complete", "servicedesk.complete_request"),
    ("return", "servicedesk.return_request"), ("archive", "servicedesk.archive_request"),
    ("escalate", "servicedesk.escalate_request"), ("merge", "servicedesk.merge_request"),
]  # fmt: skip


def _dispatch_orgs(req: ServiceRequest):
    """The organisations an order may be dispatched to: those on its place's path up to the district (bodies,
    the community party committee and its 驻区单位) and those inside its compound."""
    return (
        Organization.objects.filter(
            Q(node_id__in=req.node.ids_on_path) | Q(path__startswith=(req.compound or req.node).path),
            dissolved__isnull=True,
        )
        .select_related("kind")
        .order_by("path", "name")
    )


@permission_required(None)
def order(request, pk: int):
    req = _order(request, pk)
    can = {name: allows(request.user, perm, req) for name, perm in MOVES}
    if can["contact"] and req.contacted_at:
        can["contact"] = False
    shows_requester = allows(request.user, "servicedesk.view_requester", req)
    orgs = list(_dispatch_orgs(req)[:100]) if can["dispatch"] else []
    ctx = {
        "req": req,
        "can": can,
        "events": req.events.all(),
        "photos": req.photos.select_related("upload"),
        "masked_phone": pii.mask_phone(req.requester_phone),
        "masked_name": pii.mask_name(req.requester_name),
        "shows_requester": shows_requester,
        "dispatch_form": DispatchForm(orgs=orgs, initial={"org": req.category.responsible_id or ""}),
        "reason_form": ReasonForm(),
        "state_label": machine.STATE_LABELS[req.state],
        "open_objection": req.objections.filter(decision="").first() if req.objection_pending else None,
    }
    return render(request, "servicedesk/order.html", ctx)


@require_POST
@permission_required(None)
def order_move(request, pk: int, move: str):
    """Every button of the order's page posts here; the action checks the permission and the state."""
    req = _order(request, pk)
    post = request.POST
    user = request.user
    try:
        if move == "dispatch":
            org = None
            if post.get("org"):
                org = _dispatch_orgs(req).filter(pk=parse_id(post["org"]) or 0).first()
                if org is None:
                    raise DeskError("请从列表中选择派单对象", "choose whom to dispatch to from the list", "org")
            actions.dispatch_request(req, actor=user, to_org=org, note=post.get("note", ""))
        elif move == "take":
            actions.take_request(req, actor=user)
        elif move == "object":
            actions.object_to_dispatch(req, actor=user, reason=post.get("reason", ""))
        elif move == "decide":
            actions.decide_objection(req, actor=user, upheld=post.get("upheld") == "1", note=post.get("reason", ""))
        elif move == "contact":
            actions.contact_requester(req, actor=user, note=post.get("reason", ""))
        elif move == "start":
            actions.start_handling(req, actor=user)
        elif move == "extend":
            actions.extend_request(
                req,
                actor=user,
                value=post.get("value"),
                unit=post.get("unit", "workdays"),
                reason=post.get("reason", ""),
            )
        elif move == "complete":
            photo = request.FILES.get("photo")
            photos = [(photo.read(), photo.name)] if photo else []
            actions.complete_request(req, actor=user, resolution=post.get("reason", ""), photos=photos)
        elif move == "return":
            actions.return_for_rework(req, actor=user, reason=post.get("reason", ""))
        elif move == "archive":
            actions.archive_request(req, actor=user)
        elif move == "escalate":
            actions.escalate(req, actor=user, note=post.get("reason", ""))
        elif move == "merge":
            into = ServiceRequest.objects.filter(reference=(post.get("into") or "").strip()).first()
            if into is None:
                raise DeskError("请填写要并入的工单号", "give the reference of the order to merge into", "into")
            actions.merge_duplicate(req, actor=user, into=into, note=post.get("reason", ""))
        else:
            raise Http404
    except DeskError as e:
        messages.error(request, e.shown)
        return redirect("servicedesk:order", pk=pk)
    messages.success(request, _("已保存"))
    if move == "take":
        return redirect("servicedesk:near")
    return redirect("servicedesk:order", pk=pk)


@require_POST
@permission_required(None)
def reveal(request, pk: int):
    """The requester's name and phone in full, for the call back; logged."""
    req = _order(request, pk)
    check(request.user, "servicedesk.view_requester", req)
    contact = actions.reveal_requester(req, actor=request.user)
    return render(request, "servicedesk/reveal.html", {"req": req, "contact": contact})


# --- queues ---------------------------------------------------------------------------------------------------
QUEUE_FILTERS = [
    ("accepted", gettext_lazy("待派单")), ("objections", gettext_lazy("派单异议")), ("late", gettext_lazy("已超期")),
    ("dispatched", gettext_lazy("已派单")), ("taken", gettext_lazy("已接单")), ("in_progress", gettext_lazy("办理中")),
    ("completed", gettext_lazy("已办结")), ("followed_up", gettext_lazy("已回访")), ("rated", gettext_lazy("已评价")),
    ("archived", gettext_lazy("已归档")),
]  # fmt: skip


@permission_required("servicedesk.dispatch_request")
def queue(request):
    status = request.GET.get("status", "accepted")
    if status not in dict(QUEUE_FILTERS):
        status = "accepted"
    rows, next_after = selectors.dispatch_queue(request.user, status, _after(request))
    filters = QUEUE_FILTERS
    ctx = {"rows": rows, "next_after": next_after, "status": status, "filters": filters, "now": timezone.now()}
    return render(request, "servicedesk/queue.html", ctx)


@permission_required("servicedesk.take_request")
def near(request):
    """党员接单 — orders open to takers in my scope (my compound and around), and those I have taken."""
    rows, next_after = selectors.near_me(request.user, _after(request))
    mine_rows, _n = selectors.my_orders(request.user)
    return render(request, "servicedesk/near.html", {"rows": rows, "next_after": next_after, "mine": mine_rows})


# --- follow-up calls ------------------------------------------------------------------------------------------
CALL_SCRIPT = gettext_lazy(
    "您好，这里是%(hotline)s。您%(date)s反映的“%(category)s”问题（工单号%(ref)s）已办结，办理结果是：%(resolution)s。"
    "请问问题解决了吗？您对办理是满意、基本满意还是不满意？谢谢您的支持。"
)


def call_script(req: ServiceRequest) -> tuple[str, str]:
    """What the operator reads to the resident — Chinese, whatever the operator's page language — and, on a page
    in another language, the same words in that language for the operator to follow (empty on a Chinese page)."""
    accepted = timezone.localtime(req.accepted_at)
    values = {"ref": req.reference, "resolution": req.resolution}
    with translation.override(settings.LANGUAGE_CODE):
        script = str(CALL_SCRIPT) % {
            **values,
            "hotline": _("共治服务热线%(number)s") % {"number": settings.GONGZHI_HOTLINE},
            "date": f"{accepted.month}月{accepted.day}日",
            "category": req.category.name,
        }
    if (translation.get_language() or "").startswith("zh"):
        return script, ""
    gloss = str(CALL_SCRIPT) % {
        **values,
        "hotline": _("共治服务热线%(number)s") % {"number": settings.GONGZHI_HOTLINE},
        "date": formats.date_format(accepted, "MONTH_DAY_FORMAT"),
        "category": req.category.name_en or req.category.name,
    }
    return script, gloss


@permission_required("servicedesk.view_calls")
def calls(request):
    rows, next_after = selectors.calls_due(request.user, _after(request))
    for c in rows:  # the call is offered only to one who may make it (the order's own taker may not)
        c.may_call = allows(request.user, "servicedesk.follow_up_request", c.request)
    return render(request, "servicedesk/calls.html", {"rows": rows, "next_after": next_after})


@require_http_methods(["GET", "POST"])
@permission_required("servicedesk.view_calls")
def call(request, pk: int):
    item = get_object_or_404(FollowUpCall.objects.select_related("request", "request__category"), pk=pk)
    req = item.request
    check(request.user, "servicedesk.follow_up_request", req, view_perm="servicedesk.view_calls")
    form = FollowUpForm(_data(request))
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        solved = {"yes": True, "no": False}.get(cd["solved"])
        try:
            actions.record_follow_up(
                item, actor=request.user, outcome=cd["outcome"], solved=solved,
                satisfaction=cd["satisfaction"], note=cd["note"],
            )  # fmt: skip
        except DeskError as e:
            _error(form, e)
        else:
            messages.success(request, _("回访已记录"))
            return redirect("servicedesk:calls")
    script, gloss = call_script(req)
    ctx = {
        "item": item,
        "req": req,
        "form": form,
        "script": script,
        "gloss": gloss,
        "masked_phone": pii.mask_phone(req.requester_phone),
    }
    return render(request, "servicedesk/call.html", ctx, status=400 if form.errors else 200)


# --- rating ---------------------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def rate(request, key: str):
    """评价 — reached by the link in the completion SMS; no sign-in; one rating per order."""
    req = ServiceRequest.objects.select_related("category", "compound", "node").filter(rating_key=key).first()
    if req is None:
        return _message(request, _("评价链接无效"), status=404)
    if not machine.allowed("rate", req.status):
        return _message(request, _("该工单已评价，谢谢") if req.rated_at else _("该工单尚未办结，暂不能评价"))
    form = RatingForm(_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            actions.rate_by_key(
                key, satisfaction=form.cleaned_data["satisfaction"], comment=form.cleaned_data["comment"]
            )
        except DeskError as e:
            form.add_error(None, e.shown)
        else:
            return _message(request, _("感谢您的评价"))
    return render(request, "servicedesk/rate.html", {"req": req, "form": form}, status=400 if form.errors else 200)


# --- public board ---------------------------------------------------------------------------------------------
BOARD_LEVELS = ("subdistrict", "community")


def boards(request):
    """The list of public boards: every street and community."""
    nodes = list(
        AreaNode.objects.filter(level__code__in=BOARD_LEVELS).select_related("level", "parent").order_by("path")[:500]
    )
    return render(request, "servicedesk/boards.html", {"nodes": nodes})


def board(request, node_id: int):
    """公开看板 — requests without personal data (the place to the compound), states, times, and the three rates
    with their definitions, numerators and denominators; 办结率 apart."""
    node = get_object_or_404(AreaNode.objects.select_related("level"), pk=node_id, level__code__in=BOARD_LEVELS)
    days = request.GET.get("days", "30")
    days = int(days) if days in {"7", "30", "90", "365"} else 30
    per = selectors.period(days)
    rate_list, rows, next_after = selectors.board(node, per, _after(request))
    three = [r for r in rate_list if r.code != "closure"]
    closure = next(r for r in rate_list if r.code == "closure")
    ctx = {"node": node, "rates": three, "closure": closure, "rows": rows, "next_after": next_after, "days": days,
           "labels": machine.STATE_LABELS, "now": timezone.now()}  # fmt: skip
    return render(request, "servicedesk/board.html", ctx)


# --- dashboard ------------------------------------------------------------------------------------------------
def _days(request) -> int:
    days = request.GET.get("days", "30")
    return int(days) if days in {"7", "30", "90", "365"} else 30


@permission_required("servicedesk.view_dashboard")
def dashboard(request):
    days = _days(request)
    data = selectors.dashboard(request.user, selectors.period(days))
    return render(request, "servicedesk/dashboard.html", {**data, "days": days})


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


@permission_required("servicedesk.view_dashboard")
def dashboard_export(request):
    """The dashboard's figures as an Excel workbook (no personal data): one sheet per table, late orders first."""
    from openpyxl import Workbook

    days = _days(request)
    data = selectors.dashboard(request.user, selectors.period(days))
    wb = Workbook()
    ws = wb.active
    ws.title = "三率"
    ws.append(["指标 / rate", "定义 / definition", "分子 / numerator", "分母 / denominator", "比率 / value"])
    for r in data["rates"]:
        ws.append([str(r.name), str(r.definition), r.numerator, r.denominator, str(r.percent)])
    head = ["", "合计 total", "在办 open", "超期 late", "办结 completed", "已评价 rated", "满意 satisfied"]
    for title, rows, key in (
        ("按类别", data["by_category"], "category__name"),
        ("按接单方", data["by_body"], "label"),
        ("按社区", data["by_area"], "label"),
    ):
        sheet = wb.create_sheet(title)
        sheet.append(head)
        for row in rows:
            sheet.append([str(row[key] or ""), row["total"], row["open"], row["late"], row["completed"], row["rated"],
                          row["satisfied"]])  # fmt: skip
    late = wb.create_sheet("超期工单")
    late.append(["工单号", "类别", "楼院", "状态", "受理时间", "办理时限", "催办级别"])
    for req in data["late"]:
        late.append([
            req.reference, str(req.category.name), str(req.place), str(machine.STATE_LABELS[req.state]),
            _when(req.accepted_at), _when(req.due_at), req.escalation_level,
        ])  # fmt: skip
    out = io.BytesIO()
    wb.save(out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="servicedesk-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


# --- 服务评价: 满意率 from the residents' ratings ----------------------------------------------------------------
RATING_BAR_X, RATING_BAR = 120, 200  # where the bars start and a full (100 %) bar's length, in the chart's units


@dataclass
class RatingsQuery:
    node: AreaNode
    category: Category | None
    since: date
    until: date  # inclusive
    target: Decimal
    satisfied_from: int
    month: str = ""  # "2026-03" when the period is a month, "" for a range of dates

    def params(self) -> dict:
        """The period and category as query parameters, for links that keep them."""
        out: dict = {"month": self.month} if self.month else {"since": self.since, "until": self.until}
        return out | ({"category": self.category.pk} if self.category else {})

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.since, time.min))

    @property
    def end(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.until + timedelta(days=1), time.min))


def _ratings_query(request, perm: str) -> RatingsQuery | RatingsFilterForm:
    """The filters of the query string, checked; the form with its errors (a 400) when they are not valid.

    No area given: the widest where the reader holds the page's permission. An area out of the reader's scope
    is answered as absent (404)."""
    form = RatingsFilterForm(request.GET)
    if not form.is_valid():
        return form
    d = form.cleaned_data
    if d["node"]:
        node = AreaNode.objects.select_related("level").filter(pk=d["node"]).first()
        if node is None:
            form.add_error("node", _("没有这个区域"))
            return form
    else:
        user = request.user
        node = selectors.ratings_home(user, "servicedesk.dispatch") or selectors.ratings_home(user, "surveys.rates")
        if node is None:
            raise Http404
    check(request.user, perm, node, view_perm=perm)
    category = None
    if d["category"]:
        category = Category.objects.filter(pk=d["category"]).first()
        if category is None:
            form.add_error("category", _("没有这个类别"))
            return form
    month = ""
    if d["since"]:
        since, until = d["since"], d["until"]
    else:
        month = d["month"] or f"{timezone.localdate():%Y-%m}"
        year, m = (int(x) for x in month.split("-"))
        since = date(year, m, 1)
        until = date(year + m // 12, m % 12 + 1, 1) - timedelta(days=1)
    target, satisfied_from = rate_settings_for(node)
    return RatingsQuery(node, category, since, until, target, satisfied_from, month)


def _ratings_refused(request, form: RatingsFilterForm):
    """Bad filters: the page with the error summary naming each field, answered 400 (never a 500)."""
    categories = Category.objects.order_by("name", "id")[:200]
    return render(request, "servicedesk/ratings.html", {"form": form, "categories": categories}, status=400)


def _level_names(levels: list[str]) -> str:
    names = dict(ServiceRequest.Satisfaction.choices)
    return _("或").join(f"“{names[v]}”" for v in levels)


def _rating_row(label: str, counts: ratings.Counts, q: RatingsQuery, y: int, link: str = "") -> dict:
    f = ratings.figures(counts, q.target)
    s = f.satisfaction
    return {
        "label": label,
        "link": link,
        "counts": counts,
        "f": f,
        "y": y,
        "w": int(RATING_BAR * s.fraction) if s.fraction is not None else 0,
        "low_x": RATING_BAR_X + int(RATING_BAR * s.low) if s.low is not None else None,
        "high_x": RATING_BAR_X + int(RATING_BAR * s.high) if s.high is not None else None,
    }


@permission_required("servicedesk.view_ratings")
def ratings_page(request):
    """服务评价 — 满意率 from the residents' ratings of closed requests, per area, category and period, with its
    numerator and denominator, the rating rate, the 95 % Wilson interval, and the target judged on its lower
    bound: the surveys' arithmetic, recomputable from the data file with `python -m gongzhi.surveys.rates`."""
    q = _ratings_query(request, "servicedesk.view_ratings")
    if isinstance(q, RatingsFilterForm):
        return _ratings_refused(request, q)
    levels = ratings.satisfied_levels(q.satisfied_from)
    children = selectors.ratings_breakdown_nodes(q.node)
    overall, by_child, by_category = selectors.rating_counts(
        q.node, q.start, q.end, levels=levels, category=q.category, children=children
    )
    base = q.params()
    en = translation.get_language().startswith("en")
    areas = [
        _rating_row(c.name, n, q, i * 44 + 5, "?" + urlencode({**base, "node": c.pk}))
        for i, (c, n) in enumerate(zip(children, by_child, strict=True))
    ]
    cats = [
        _rating_row(
            (r["category__name_en"] if en and r["category__name_en"] else r["category__name"]),
            ratings.Counts(r["closed"], r["rated"], r["satisfied"]),
            q,
            i * 44 + 5,
        )
        for i, r in enumerate(by_category)
    ]
    chart = areas or cats
    up = [
        a
        for a in AreaNode.objects.filter(pk__in=q.node.ids_on_path[:-1]).order_by("depth")
        if allows(request.user, "servicedesk.view_ratings", a)
    ]
    query = {**base, "node": q.node.pk}
    earlier = q.since - timedelta(days=1)
    later = q.until + timedelta(days=1)
    months = {
        k: urlencode({"node": q.node.pk, "month": f"{d:%Y-%m}"} | ({"category": q.category.pk} if q.category else {}))
        for k, d in (("earlier", earlier), ("later", later))
    }
    ctx = {
        "q": q,
        "form": RatingsFilterForm(initial=query),
        "overall": _rating_row(q.node.name, overall, q, 0),
        "areas": areas,
        "cats": cats,
        "chart": chart,
        "chart_areas": bool(areas),
        "size": {"width": 340, "row": 44, "height": 44 * max(1, len(chart)) + 10},
        "target_x": RATING_BAR_X + int(RATING_BAR * q.target),
        "levels": _level_names(levels),
        "up": [(a, "?" + urlencode({**base, "node": a.pk})) for a in up],
        "categories": Category.objects.order_by("name", "id")[:200],
        "query": urlencode(query),
        "months": months,
        "can_data": overall.closed > 0 and allows(request.user, "servicedesk.download_ratings_data", q.node),
    }
    return render(request, "servicedesk/ratings.html", ctx)


@permission_required("servicedesk.download_ratings_data")
def ratings_data(request):
    """The page's figure as a data file for `python -m gongzhi.surveys.rates`: closed requests as opaque tokens,
    the ratings on the surveys' 1–5 scale, the district's satisfied level and target. Nothing personal."""
    q = _ratings_query(request, "servicedesk.download_ratings_data")
    if isinstance(q, RatingsFilterForm):
        return _ratings_refused(request, q)
    values = selectors.rating_values(q.node, q.start, q.end, category=q.category)
    if not values:
        return _message(request, _("没有可重算的数据"), _("该区域和时段内没有办结的工单。"), status=404)
    body = json.dumps(
        ratings.data_file(values, satisfied_from=q.satisfied_from, target=q.target), ensure_ascii=False, indent=1
    )
    audit.record(
        "servicedesk.download_ratings",
        q.node,
        actor=request.user,
        changes={"since": q.since, "until": q.until, "category": q.category.pk if q.category else None},
    )
    resp = HttpResponse(body, content_type="application/json; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="service-ratings-{q.node.pk}-{q.since}-{q.until}.json"'
    return resp
