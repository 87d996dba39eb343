"""Deliberation pages. Staff: the matter list, the matter page (timeline, current stage, what you can do now),
meetings, households not yet reached and operator entry. Residents: opinion and objection flows (one question
per page, check answers, confirmation with a reference number).

Permissions are asked of `rules` (`user.has_perm("deliberation.…", matter)`); the actions check again.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.gate import allows, gated_object, permission_required
from gongzhi.core.ids import parse_id
from gongzhi.core.rules import scoped
from gongzhi.deliberation import actions, clock, links, selectors
from gongzhi.deliberation.actions import ProcessError
from gongzhi.deliberation.forms import (
    AccountForm,
    AdvanceForm,
    AnswerForm,
    AttendanceForm,
    LinkVoteForm,
    MatterForm,
    MeetingForm,
    MinutesForm,
    ObjectionForm,
    OperatorOpinionForm,
    OpinionKindForm,
    OpinionTextForm,
    ProposalForm,
    ReachForm,
    ReasonForm,
    ReportForm,
    ResolutionForm,
)
from gongzhi.deliberation.models import ASSEMBLY_BODIES, Matter, Meeting, Objection, Opinion
from gongzhi.deliberation.votes import vote_state
from gongzhi.organizations.models import OrgKind
from gongzhi.registry.models import Unit, UnitSet

PERMS = (
    "view_opinions",
    "enter_opinion",
    "submit_opinion",
    "view_reach",
    "amend_proposal",
    "manage_meeting",
    "resolve_matter",
    "lodge_objection",
    "enter_objection",
    "answer_objection",
    "report_progress",
    "advance_matter",
    "return_matter",
    "withdraw_matter",
    "survey_needs",
)


def _matter(request, pk: int, perm: str = "deliberation.view_matter") -> Matter:
    """The matter, or 404 if absent or out of the reader's sight, 403 if `perm` is refused on it."""
    qs = Matter.objects.select_related("stage", "template", "scope", "unit_set")
    return gated_object(request, qs, perm=perm, view_perm="deliberation.view_matter", pk=pk)


def _body_labels(codes) -> dict[str, str]:
    labels = {code: str(label) for code, label in ASSEMBLY_BODIES.items()}
    labels.update(dict(OrgKind.objects.filter(code__in=list(codes)).values_list("code", "name")))
    return labels


def _files(request) -> list[tuple[bytes, str]]:
    return [(f.read(), f.name) for f in request.FILES.getlist("files")]


# ------------------------------------------------------------------------------------------ staff pages


@require_GET
@login_required
def matter_list(request):
    if not allows(request.user, "deliberation.view_staff_pages"):
        return _resident_matter_list(request)
    stage = (request.GET.get("stage") or "")[:50]
    after = parse_id(request.GET.get("after")) or 0
    rows = selectors.matters_page(request.user, stage=stage, after=after)
    return render(
        request,
        "deliberation/list.html",
        {
            "matters": rows,
            "stage": stage,
            "stages": selectors.stage_choices(),
            "next_after": rows[-1].pk if len(rows) == selectors.PAGE else None,
            "can_add": request.user.has_perm("deliberation.add_matter", None),
        },
    )


def _resident_matter_list(request):
    """A resident's own matters: those covering a unit they own or live in, newest first."""
    person_id = request.user.person_id
    matters = []
    if person_id:
        paths = set(
            Unit.objects.filter(
                Q(ownerships__person_id=person_id, ownerships__until__isnull=True)
                | Q(residences__person_id=person_id, residences__until__isnull=True)
            ).values_list("path", flat=True)[:20]
        )
        q = Q(pk__in=[])
        for path in paths:
            prefixes = ["/" + "/".join(path.strip("/").split("/")[:i]) + "/" for i in range(1, path.count("/"))]
            q |= Q(path__in=prefixes)
        matters = list(Matter.objects.filter(q).select_related("stage").order_by("-id")[:50])
    return render(request, "deliberation/resident_list.html", {"matters": matters})


@require_http_methods(["GET", "POST"])
@permission_required("deliberation.view_staff_pages")  # the action asks for deliberation.add_matter
def matter_new(request):
    unit_sets = list(
        scoped(UnitSet.objects.select_related("scope"), request.user, "staff", "scope__path").order_by("-id")[:200]
    )
    form = MatterForm(request.POST if request.method == "POST" else None, unit_sets=unit_sets)
    if request.method == "POST" and form.is_valid():
        unit_set = next(u for u in unit_sets if u.pk == form.cleaned_data["unit_set"])
        try:
            matter = actions.create_matter(
                actor=request.user,
                title=form.cleaned_data["title"],
                unit_set=unit_set,
                summary=form.cleaned_data["summary"],
            )
        except ProcessError as e:
            form.add_error(e.field if e.field in form.fields else None, str(e))
        else:
            messages.success(request, _("议题已创建，编号 %(ref)s") % {"ref": matter.reference})
            return redirect("deliberation:matter", pk=matter.pk)
    return render(request, "deliberation/new.html", {"form": form})


@require_GET
@login_required
def matter_detail(request, pk: int):
    matter = _matter(request, pk)
    user = request.user
    can = {p: user.has_perm(f"deliberation.{p}", matter) for p in PERMS}
    if not allows(user, "deliberation.view_staff_pages", matter) and not can["advance_matter"]:
        return render(
            request,
            "deliberation/resident_matter.html",
            {
                "matter": matter,
                "can": can,
                "record": selectors.public_record(matter),
                "surveys": links.matter_surveys(matter, user),
            },
        )
    record = selectors.matter_record(matter)
    surveys = links.matter_surveys(matter, user)
    bodies = list(matter.stage.bodies or [])
    labels = _body_labels(set(bodies) | {m.body for m in record["meetings"]})
    context = {
        "matter": matter,
        "can": can,
        "record": record,
        "labels": labels,
        "stage_bodies": [labels.get(b, b) for b in bodies],
        "blockers": selectors.blockers(matter, clock.today()) if can["advance_matter"] else [],
        "next_stage": selectors.next_stage(matter),
        "open_objections": [o for o in record["objections"] if o.status == Objection.Status.OPEN],
        "vote": None,
        "proposal_form": ProposalForm(initial={"text": record["proposals"][0].text if record["proposals"] else ""}),
        "meeting_form": MeetingForm(bodies=[(b, labels.get(b, b)) for b in bodies]),
        "resolution_form": ResolutionForm_for(matter, record),
        "vote_form": LinkVoteForm(),
        "report_form": ReportForm(),
        "account_form": AccountForm(),
        "answer_form": AnswerForm(),
        "return_form": ReasonForm(stages=[(s.code, s.label) for s in record["stages"] if s.order < matter.stage.order]),
        "withdraw_form": ReasonForm(),
        "surveys": surveys,
        "timeline": selectors.timeline(record["events"], surveys),
    }
    if matter.vote_id:
        context["vote"] = vote_state(matter.vote_id)
    if can["view_opinions"]:
        context["opinions"] = list(
            matter.opinions.select_related("person", "unit", "on_behalf_of").order_by("-id")[:50]
        )
    return render(request, "deliberation/matter.html", context)


@require_GET
@login_required
def needs_survey(request, pk: int):
    """以问卷征求需求: on to the surveys part's new-survey page, filled in for the matter's households."""
    matter = _matter(request, pk, "deliberation.survey_needs")
    url = links.needs_survey_url(matter, request.user)
    if not url:
        raise PermissionDenied("surveys.add_survey")
    return redirect(url)


def ResolutionForm_for(matter, record):  # noqa: N802 - a form factory
    meetings = [
        m for m in record["meetings"] if m.stage_id == matter.stage_id and m.body in ASSEMBLY_BODIES and m.minutes
    ]
    return ResolutionForm(meetings=meetings)


def _done(request, matter, message: str | None = None):
    if message:
        messages.success(request, message)
    return redirect("deliberation:matter", pk=matter.pk)


@require_POST
@login_required
def matter_action(request, pk: int, verb: str):
    """The matter page's forms post here; each verb calls one action (which checks the permission again)."""
    matter = _matter(request, pk)
    user, post = request.user, request.POST
    try:
        if verb == "proposal":
            form = ProposalForm(post)
            if not form.is_valid():
                raise ProcessError("方案内容不能为空", "the proposal text is required", "text")
            v = actions.save_proposal(
                matter, actor=user, text=form.cleaned_data["text"], note=form.cleaned_data["note"]
            )
            return _done(request, matter, _("方案已保存（第%(n)s版）") % {"n": v.number})
        if verb == "meeting":
            form = MeetingForm(post, bodies=[(b, b) for b in matter.stage.bodies or []])
            if not form.is_valid():
                raise ProcessError("请完整填写会议主体、名称、日期和议程", "fill in body, title, date and agenda", None)
            d = form.cleaned_data
            meeting = actions.schedule_meeting(
                matter,
                actor=user,
                body=d["body"],
                title=d["title"],
                held_on=d["held_on"],
                agenda=d["agenda"],
                place=d["place"],
            )
            messages.success(request, _("会议已安排"))
            return redirect("deliberation:meeting", pk=meeting.pk)
        if verb == "resolve":
            meeting = get_object_or_404(Meeting, pk=int(post.get("meeting") or 0), matter=matter)
            actions.record_assembly_resolution(matter, actor=user, meeting=meeting, text=post.get("text", ""))
            return _done(request, matter, _("决议已记录"))
        if verb == "vote":
            form = LinkVoteForm(post)
            if not form.is_valid():
                raise ProcessError("请填写表决编号", "enter the vote number", "vote")
            actions.link_vote(matter, actor=user, vote_id=form.cleaned_data["vote"])
            return _done(request, matter, _("已关联业主表决"))
        if verb == "report":
            form = ReportForm(post)
            if not form.is_valid():
                raise ProcessError("请填写报告类型和内容", "fill in the report kind and text", "text")
            d = form.cleaned_data
            actions.add_report(
                matter, actor=user, kind=d["kind"], text=d["text"], percent=d["percent"], files=_files(request)
            )
            return _done(request, matter, _("报告已保存"))
        if verb == "account":
            form = AccountForm(post)
            if not form.is_valid():
                raise ProcessError("请完整填写收支、项目、金额和日期", "fill in direction, item, amount and date", None)
            d = form.cleaned_data
            actions.add_account_line(
                matter,
                actor=user,
                direction=d["direction"],
                item=d["item"],
                amount=d["amount"],
                on=d["on"],
                source=d["source"],
            )
            return _done(request, matter, _("收支已记录"))
        if verb == "answer":
            objection = get_object_or_404(Objection, pk=int(post.get("objection") or 0), matter=matter)
            actions.answer_objection(
                objection, actor=user, answer=post.get("answer", ""), dismiss=post.get("dismiss") == "on"
            )
            return _done(request, matter, _("异议已答复"))
        if verb == "return":
            actions.return_matter(matter, actor=user, to_stage=post.get("to_stage", ""), reason=post.get("reason", ""))
            return _done(request, matter, _("议题已退回"))
        if verb == "withdraw":
            actions.withdraw_matter(matter, actor=user, reason=post.get("reason", ""))
            return _done(request, matter, _("议题已终止"))
    except ProcessError as e:
        messages.error(request, str(e))
        return redirect("deliberation:matter", pk=matter.pk)
    raise Http404


@require_http_methods(["GET", "POST"])
@login_required
def matter_advance(request, pk: int):
    """Confirmation page for moving to the next stage; the guards' reasons are shown if it may not."""
    matter = _matter(request, pk, "deliberation.advance_matter")
    form = AdvanceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.advance_matter(matter, actor=request.user, note=form.cleaned_data["note"])
        except ProcessError as e:
            messages.error(request, str(e))
        else:
            matter.refresh_from_db()
            return _done(request, matter, _("已进入“%(stage)s”阶段") % {"stage": matter.stage.label})
    return render(
        request,
        "deliberation/advance.html",
        {
            "matter": matter,
            "form": form,
            "next_stage": selectors.next_stage(matter),
            "blockers": selectors.blockers(matter, clock.today()),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def meeting_detail(request, pk: int):
    meeting = get_object_or_404(Meeting.objects.select_related("matter__stage", "matter__template", "stage"), pk=pk)
    matter = meeting.matter
    if not (
        allows(request.user, "deliberation.view_staff_pages", matter)
        or allows(request.user, "deliberation.manage_meeting", matter)
    ):
        raise Http404
    rows = list(meeting.attendance.select_related("person", "organization").order_by("id"))
    can_manage = request.user.has_perm("deliberation.manage_meeting", matter)
    attendance_form = AttendanceForm(request.POST if request.POST.get("form") == "attendance" else None, rows=rows)
    minutes_form = MinutesForm(
        request.POST if request.POST.get("form") == "minutes" else None, initial={"minutes": meeting.minutes}
    )
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        try:
            if request.POST.get("form") == "attendance" and attendance_form.is_valid():
                statuses = {int(k[1:]): v for k, v in attendance_form.cleaned_data.items() if v is not None}
                actions.record_attendance(meeting, actor=request.user, statuses=statuses)
                messages.success(request, _("出席情况已保存"))
                return redirect("deliberation:meeting", pk=meeting.pk)
            if request.POST.get("form") == "minutes" and minutes_form.is_valid():
                actions.record_minutes(
                    meeting, actor=request.user, minutes=minutes_form.cleaned_data["minutes"], files=_files(request)
                )
                messages.success(request, _("会议纪要已保存"))
                return redirect("deliberation:meeting", pk=meeting.pk)
        except ProcessError as e:
            target = minutes_form if request.POST.get("form") == "minutes" else attendance_form
            target.add_error(e.field if e.field in target.fields else None, str(e))
    labels = _body_labels({meeting.body})
    return render(
        request,
        "deliberation/meeting.html",
        {
            "meeting": meeting,
            "matter": matter,
            "rows": rows,
            "can_manage": can_manage,
            "body_label": labels.get(meeting.body),
            "attendance_form": attendance_form,
            "minutes_form": minutes_form,
            "pairs": [(row, attendance_form[f"p{row.person_id}"]) for row in rows],
            "attachments": list(meeting.attachments.all()),
        },
    )


@require_GET
@login_required
def households(request, pk: int):
    """逐户征求: the households of the matter not yet reached, by key, with masked names."""
    matter = _matter(request, pk, "deliberation.view_reach")
    after = parse_id(request.GET.get("after")) or 0
    rows = selectors.not_reached_page(matter, after=after)
    return render(
        request,
        "deliberation/households.html",
        {
            "matter": matter,
            "rows": rows,
            "next_after": rows[-1].unit.pk if len(rows) == selectors.PAGE else None,
            "can_enter": request.user.has_perm("deliberation.enter_opinion", matter),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def operator_entry(request, pk: int, unit_pk: int):
    """A hotline operator or worker enters a household's opinion, or marks it reached without one."""
    matter = _matter(request, pk, "deliberation.enter_opinion")
    unit = get_object_or_404(selectors.matter_units(matter).select_related("node"), pk=unit_pk)
    people = selectors.unit_people(unit)
    form = OperatorOpinionForm(request.POST if request.POST.get("form") == "opinion" else None, people=people)
    reach_form = ReachForm(request.POST if request.POST.get("form") == "reach" else None)
    if request.method == "POST":
        try:
            if request.POST.get("form") == "opinion" and form.is_valid():
                d = form.cleaned_data
                person = next(p for p in people if p.pk == d["person"])
                opinion = actions.enter_opinion(
                    matter,
                    actor=request.user,
                    on_behalf_of=person,
                    unit=unit,
                    text=d["text"],
                    channel=d["channel"],
                    kind=d["kind"],
                    idempotency_key=request.POST.get("idempotency_key", ""),
                )
                messages.success(request, _("已代为登记，编号 %(ref)s") % {"ref": opinion.reference})
                return redirect("deliberation:households", pk=matter.pk)
            if request.POST.get("form") == "reach" and reach_form.is_valid():
                actions.mark_reached(
                    matter,
                    actor=request.user,
                    unit=unit,
                    channel=reach_form.cleaned_data["channel"],
                    note=reach_form.cleaned_data["note"],
                )
                messages.success(request, _("已标记为已征求"))
                return redirect("deliberation:households", pk=matter.pk)
        except ProcessError as e:
            form.add_error(e.field if e.field in form.fields else None, str(e))
    return render(
        request,
        "deliberation/operator_entry.html",
        {
            "matter": matter,
            "unit": unit,
            "form": form,
            "reach_form": reach_form,
            "idempotency_key": uuid.uuid4().hex,
        },
    )


# ------------------------------------------------------------------------------------------ residents


SESSION_KEY = "gz_opinion_{}"


@require_http_methods(["GET", "POST"])
@login_required
def opinion_kind(request, pk: int):
    matter = _matter(request, pk, "deliberation.submit_opinion")
    form = OpinionKindForm(
        request.POST if request.method == "POST" else None, initial=request.session.get(SESSION_KEY.format(pk), {})
    )
    if request.method == "POST" and form.is_valid():
        draft = request.session.get(SESSION_KEY.format(pk), {})
        draft["kind"] = form.cleaned_data["kind"]
        request.session[SESSION_KEY.format(pk)] = draft
        return redirect("deliberation:opinion_text", pk=pk)
    return render(request, "deliberation/question.html", {"matter": matter, "form": form, "step": 1})


@require_http_methods(["GET", "POST"])
@login_required
def opinion_text(request, pk: int):
    matter = _matter(request, pk, "deliberation.submit_opinion")
    draft = request.session.get(SESSION_KEY.format(pk), {})
    form = OpinionTextForm(request.POST if request.method == "POST" else None, initial=draft)
    if request.method == "POST" and form.is_valid():
        draft["text"] = form.cleaned_data["text"].strip()
        request.session[SESSION_KEY.format(pk)] = draft
        return redirect("deliberation:opinion_check", pk=pk)
    return render(
        request,
        "deliberation/question.html",
        {"matter": matter, "form": form, "step": 2, "back": reverse("deliberation:opinion_kind", args=[pk])},
    )


@require_http_methods(["GET", "POST"])
@login_required
def opinion_check(request, pk: int):
    matter = _matter(request, pk, "deliberation.submit_opinion")
    draft = request.session.get(SESSION_KEY.format(pk), {})
    if not draft.get("kind"):
        return redirect("deliberation:opinion_kind", pk=pk)
    if not draft.get("text"):
        return redirect("deliberation:opinion_text", pk=pk)
    if request.method == "POST":
        try:
            opinion = actions.submit_opinion(
                matter,
                actor=request.user,
                text=draft["text"],
                kind=draft["kind"],
                idempotency_key=request.POST.get("idempotency_key", ""),
            )
        except ProcessError as e:
            messages.error(request, str(e))
        else:
            request.session.pop(SESSION_KEY.format(pk), None)
            return redirect("deliberation:opinion_done", pk=pk, ref=opinion.pk)
    return render(
        request,
        "deliberation/opinion_check.html",
        {
            "matter": matter,
            "draft": draft,
            "kind_label": Opinion.Kind(draft["kind"]).label,
            "idempotency_key": uuid.uuid4().hex,
        },
    )


@require_GET
@login_required
def opinion_done(request, pk: int, ref: int):
    matter = _matter(request, pk)
    opinion = get_object_or_404(Opinion, pk=ref, matter=matter, entered_by=request.user)
    return render(
        request,
        "deliberation/done.html",
        {"matter": matter, "reference": opinion.reference, "what": _("您的意见已提交")},
    )


@require_http_methods(["GET", "POST"])
@login_required
def objection_new(request, pk: int):
    matter = _matter(request, pk, "deliberation.lodge_objection")
    form = ObjectionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            objection = actions.lodge_objection(
                matter,
                actor=request.user,
                reasons=form.cleaned_data["reasons"],
                idempotency_key=request.POST.get("idempotency_key", ""),
            )
        except ProcessError as e:
            form.add_error(e.field if e.field in form.fields else None, str(e))
        else:
            return render(
                request,
                "deliberation/done.html",
                {
                    "matter": matter,
                    "reference": objection.reference,
                    "what": _("您的异议已提交"),
                    "next": _("社区将在公示期内答复；异议未答复前，决议不会实施。"),
                },
            )
    return render(
        request, "deliberation/objection.html", {"matter": matter, "form": form, "idempotency_key": uuid.uuid4().hex}
    )
