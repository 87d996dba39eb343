"""Survey pages.

Staff: list, create, build questions from a page, preview on a phone, open/close, figures (the three rates with
numerator, denominator, definition, interval and target), progress by building, review, export, publish.
Workers: enter a response door to door, by hotline or from paper (with its scan). Residents (GOV.UK style, one
question per page): confirm identity by SMS → one question per page → check answers → confirmation.
Who may is decided by rules.py through the gate; every change goes through actions.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core import audit, pii, sms
from gongzhi.core.gate import allows, check, gated_object, permission_required
from gongzhi.core.rules import scope_q, scoped
from gongzhi.registry.models import AreaNode, Person, UnitSet
from gongzhi.surveys import actions, export, links, logic, rates, selectors
from gongzhi.surveys import questions as qdef
from gongzhi.surveys.actions import SurveyError, current_version
from gongzhi.surveys.forms import (
    AnswerForm,
    CodeForm,
    EntryForm,
    ExportForm,
    PublishForm,
    QuestionForm,
    QuotaForm,
    QuotaMaximumForm,
    RateSettingsForm,
    ReviewForm,
    SurveyForm,
    initial_for,
    rating_choices,
    tr,
)
from gongzhi.surveys.models import Quota, Response, Survey, SurveyHousehold

IDENTITY_MINUTES = 30
PAGE = 50


def _post(request):
    return request.POST if request.method == "POST" else None


def _int(value, default: int = 0) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return default


def _survey(request, pk: int, perm: str, view_perm: str = "surveys.view_survey") -> Survey:
    return gated_object(request, Survey.objects.select_related("scope"), perm=perm, view_perm=view_perm, pk=pk)


def _en() -> bool:
    return request_lang().startswith("en")


def _error_text(e: SurveyError) -> str:
    return e.en if (request_lang() or "").startswith("en") else e.zh


def request_lang() -> str:
    from django.utils.translation import get_language

    return get_language() or ""


# ------------------------------------------------------------------------------------------ staff
@permission_required(None)
def survey_list(request):
    """Staff: the surveys in their scope. Residents: the open surveys of their households."""
    if not allows(request.user, "surveys.view_survey"):
        return redirect("surveys:mine")
    qs = scoped(Survey.objects.select_related("scope"), request.user, field="path").order_by("-id")
    before = _int(request.GET.get("before"))
    if before:
        qs = qs.filter(pk__lt=before)
    surveys = list(qs[: PAGE + 1])
    more = surveys[PAGE - 1].pk if len(surveys) > PAGE else None
    return render(
        request,
        "surveys/list.html",
        {
            "surveys": surveys[:PAGE],
            "before": more,
            "can_add": allows(request.user, "surveys.add_survey"),
            "can_settings": allows(request.user, "surveys.change_ratesettings"),
        },
    )


@permission_required("surveys.add_survey")
@require_http_methods(["GET", "POST"])
def survey_new(request):
    unit_sets = scoped(UnitSet.objects.select_related("scope"), request.user, field="scope__path").order_by("-id")
    today = timezone.localdate()
    form = SurveyForm(
        _post(request),
        unit_sets=unit_sets,
        initial={
            "opens_on": today,
            "closes_on": today + timedelta(days=30),
            **links.project_initial(request.GET.get("project", ""), request.user),  # a matter's needs survey
        },
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        starter = [
            {
                "key": "aware",
                "type": "single",
                "label": "您是否知道这个项目？",
                "label_en": "Do you know about this project?",
                "required": True,
                "measures": "awareness",
                "choices": [
                    {"code": "yes", "label": "知道", "label_en": "Yes", "aware": True},
                    {"code": "no", "label": "不知道", "label_en": "No", "aware": False},
                ],
            }
        ]
        try:
            survey = actions.create_survey(
                actor=request.user,
                title=d["title"],
                intro=d["intro"],
                unit_set=d["unit_set"],
                opens_on=d["opens_on"],
                closes_on=d["closes_on"],
                anonymous=d["anonymous"],
                quota_percent=d["quota_percent"],
                project_ref=d["project_ref"].strip(),
                questions=starter,
                respondents=d["respondents"] or Survey.Respondents.HOUSEHOLD,
                min_age=d["min_age"] if d.get("min_age") is not None else 18,
            )
        except SurveyError as e:
            form.add_error(e.field if e.field in form.fields else None, _error_text(e))
        else:
            messages.success(request, _("问卷已建立。已放入一道知晓题，可修改或删除，再添加其他题目。"))
            return redirect("surveys:questions", pk=survey.pk)
    return render(request, "surveys/new.html", {"form": form})


@permission_required("surveys.view_survey")
def detail(request, pk: int):
    survey = _survey(request, pk, "surveys.view_survey")
    version = current_version(survey)
    report = selectors.figures(survey) if survey.status != Survey.Status.DRAFT else None
    pending = Response.objects.filter(survey=survey, review__in=["received", "has_issues"]).count()
    return render(
        request,
        "surveys/detail.html",
        {
            "survey": survey,
            "version": version,
            "questions": version.questions,
            "report": report,
            "figures": _figure_rows(survey, report) if report else [],
            "pending": pending,
        },
    )


DEFINITIONS = {
    "awareness": (
        "知晓率 = 回答“知晓”的户数 ÷ 回答了知晓题的户数",
        "awareness = households answering that they know ÷ households answering the question",
    ),
    "participation": (
        "参与率 = 有任一参与记录（意见、会议、表决、点单、监督、问卷）的户数 ÷ 范围内全部户数",
        "participation = households with any participation record ÷ all households in scope",
    ),
    "satisfaction": (
        "满意率 = 评分不低于“满意”线的户数 ÷ 给出评分的户数（不含不了解/不适用）",
        "satisfaction = households rating at or above the satisfied level ÷ households giving a rating",
    ),
    "response": ("回复率 = 回复户数 ÷ 范围内全部户数", "response = responding households ÷ households in scope"),
}
NAMES = {
    "awareness": ("知晓率", "Awareness"),
    "participation": ("参与率", "Participation"),
    "satisfaction": ("满意率", "Satisfaction"),
    "response": ("回复率", "Response rate"),
}


def _figure_rows(survey: Survey, report: rates.Report) -> list[dict]:
    """The figures to show: awareness and satisfaction when the survey has a question measuring them (the data
    file and the API carry all four whatever), participation unless the respondents are organisations."""
    en = request_lang().startswith("en")
    measured = {q["measures"] for q in current_version(survey).questions if q.get("measures")}
    rows = []
    for name in ("awareness", "participation", "satisfaction", "response"):
        if name == "participation" and survey.respondents == Survey.Respondents.ORGANIZATION:
            continue  # participation records are by household: none for a survey of organisations
        if name in ("awareness", "satisfaction") and name not in measured:
            continue
        f: rates.Figure = getattr(report, name)
        rows.append(
            {
                "key": name,
                "name": NAMES[name][1 if en else 0],
                "definition": DEFINITIONS[name][1 if en else 0],
                "figure": f,
                "percent": f.percent,
                "low": None if f.low is None else f"{f.low * 100:.2f}%",
                "high": None if f.high is None else f"{f.high * 100:.2f}%",
                "interval": f.interval and not report.census and f.denominator > 0,
                "met": f.target_met,
                "target": f"{survey.target * 100:.2f}%",
                "bar": int(f.rate * 100) if f.rate is not None else 0,
            }
        )
    return rows


@permission_required("surveys.view_survey")
@require_http_methods(["GET", "POST"])
def questions_page(request, pk: int):
    """The question list: add, change, move, remove — each a whole-list save through update_questions."""
    survey = _survey(request, pk, "surveys.change_survey")
    version = current_version(survey)
    qs = list(version.questions)
    if request.method == "POST":
        op, key = request.POST.get("op"), request.POST.get("key")
        idx = next((i for i, q in enumerate(qs) if q["key"] == key), None)
        if idx is not None:
            if op == "up" and idx > 0:
                qs[idx - 1], qs[idx] = qs[idx], qs[idx - 1]
            elif op == "down" and idx < len(qs) - 1:
                qs[idx + 1], qs[idx] = qs[idx], qs[idx + 1]
            elif op == "delete":
                qs.pop(idx)
            try:
                actions.update_questions(survey, actor=request.user, questions=qs)
            except SurveyError as e:
                messages.error(request, _error_text(e))
        return redirect("surveys:questions", pk=pk)
    return render(
        request,
        "surveys/questions.html",
        {"survey": survey, "version": version, "questions": qs, "has_responses": version.responses.exists()},
    )


def _next_key(qs: list[dict]) -> str:
    used = {q["key"] for q in qs}
    n = len(qs) + 1
    while f"q{n}" in used:
        n += 1
    return f"q{n}"


@permission_required("surveys.view_survey")
@require_http_methods(["GET", "POST"])
def question_edit(request, pk: int, key: str = ""):
    survey = _survey(request, pk, "surveys.change_survey")
    version = current_version(survey)
    qs = list(version.questions)
    idx = next((i for i, q in enumerate(qs) if q["key"] == key), None) if key else None
    if key and idx is None:
        return redirect("surveys:questions", pk=pk)
    earlier = qs[:idx] if idx is not None else qs
    old = qs[idx] if idx is not None else None
    form = QuestionForm(
        _post(request),
        earlier=earlier,
        group=qdef.open_group(earlier),
        initial=QuestionForm.initial_from(old, earlier) if old else {"required": True, "in_group": True},
    )
    if request.method == "POST" and form.is_valid():
        q = form.question(old["key"] if old else _next_key(qs), old)
        if not form.errors:
            new = list(qs)
            if idx is None:
                new.append(q)
            else:
                new[idx] = q
            try:
                actions.update_questions(survey, actor=request.user, questions=new)
            except SurveyError as e:
                form.add_error(None, _error_text(e))
            else:
                messages.success(request, _("题目已保存。"))
                return redirect("surveys:questions", pk=pk)
    return render(request, "surveys/question_edit.html", {"survey": survey, "form": form, "old": old})


@permission_required("surveys.view_survey")
def preview(request, pk: int):
    """The survey as a resident sees it, in a phone-sized frame."""
    survey = _survey(request, pk, "surveys.view_survey")
    return render(request, "surveys/preview.html", {"survey": survey})


@permission_required("surveys.view_survey")
def preview_step(request, pk: int, n: int):
    """One question page as residents see it (nothing is saved; the skip rules run in the browser)."""
    survey = _survey(request, pk, "surveys.view_survey")
    # a repeat group's questions once (as its first member's), not once per member it may hold
    qs = [q for q in qdef.answerable(current_version(survey).flat) if q.get("repeat", {}).get("index", 1) == 1]
    if not 1 <= n <= len(qs):
        return redirect("surveys:preview-step", pk=pk, n=1)
    q = qs[n - 1]
    return render(
        request,
        "surveys/answer_question.html",
        {
            "survey": survey,
            "question": q,
            "form": AnswerForm(q, prefix="q"),
            "step": n,
            "steps": len(qs),
            "preview": True,
            "prev_url": reverse("surveys:preview-step", args=[pk, n - 1]) if n > 1 else "",
            "next_url": reverse("surveys:preview-step", args=[pk, n + 1]) if n < len(qs) else "",
        },
    )


@permission_required("surveys.view_survey")
@require_POST
def open_view(request, pk: int):
    survey = _survey(request, pk, "surveys.open_survey")
    try:
        actions.open_survey(survey, actor=request.user)
    except SurveyError as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(request, _("问卷已开始，住户名单已固定。"))
    return redirect("surveys:detail", pk=pk)


@permission_required("surveys.view_survey")
@require_POST
def close_view(request, pk: int):
    survey = _survey(request, pk, "surveys.close_survey")
    try:
        actions.close_survey(survey, actor=request.user)
    except SurveyError as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(request, _("问卷已结束。"))
    return redirect("surveys:detail", pk=pk)


@permission_required("surveys.view_survey")
@require_http_methods(["GET", "POST"])
def publish(request, pk: int):
    survey = _survey(request, pk, "surveys.publish_results")
    qs = current_version(survey).questions
    form = PublishForm(
        _post(request),
        questions=qs,
        initial={"published": survey.results_published, "keys": survey.published_keys},
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.publish_results(
                survey, actor=request.user, published=form.cleaned_data["published"], keys=form.cleaned_data["keys"]
            )
        except SurveyError as e:
            form.add_error("keys", _error_text(e))
        else:
            messages.success(request, _("公开设置已保存。"))
            return redirect("surveys:detail", pk=pk)
    return render(request, "surveys/publish.html", {"survey": survey, "form": form})


@permission_required("surveys.view_survey")
@require_http_methods(["GET", "POST"])
def quotas(request, pk: int):
    """配额: cap the responses from a building, an age band, or choosing an option; change or remove a cap."""
    survey = _survey(request, pk, "surveys.change_quotas")
    questions = current_version(survey).questions
    buildings = list(
        AreaNode.objects.filter(path__startswith=survey.path, level__code="building").order_by("path")[:500]
    )
    op = request.POST.get("op") if request.method == "POST" else None
    form = QuotaForm(request.POST if op == "add" else None, buildings=buildings, questions=questions)
    if op in ("change", "remove"):
        quota = get_object_or_404(Quota, survey=survey, pk=_int(request.POST.get("quota")))
        try:
            if op == "remove":
                actions.remove_quota(quota, actor=request.user)
                messages.success(request, _("配额已删除。"))
            else:
                change = QuotaMaximumForm(request.POST)
                if not change.is_valid():
                    raise SurveyError("最多份数应为正整数", "the maximum is a whole number from 1", "maximum")
                actions.change_quota(quota, actor=request.user, maximum=change.cleaned_data["maximum"])
                messages.success(request, _("配额已修改。"))
        except SurveyError as e:
            messages.error(request, _error_text(e))
        return redirect("surveys:quotas", pk=pk)
    if op == "add" and form.is_valid():
        d = form.cleaned_data
        key, _sep, code = (d.get("choice") or "").partition(":")
        try:
            actions.add_quota(
                survey,
                actor=request.user,
                kind=d["kind"],
                maximum=d["maximum"],
                building=next((b for b in buildings if b.pk == d.get("building")), None),
                age_band="" if d.get("age_band") == "none" else d.get("age_band") or "",
                question_key=key,
                choice_code=code,
            )
        except SurveyError as e:
            field = "choice" if e.field == "question" else e.field
            form.add_error(field if field in form.fields else None, _error_text(e))
        else:
            messages.success(request, _("配额已添加。"))
            return redirect("surveys:quotas", pk=pk)
    return render(
        request,
        "surveys/quotas.html",
        {"survey": survey, "quotas": selectors.quotas(survey), "form": form},
        status=400 if form.errors else 200,
    )


BAR_X, BAR = 110, 220  # where the bars start, and a full bar's length, in the chart's units


def _bars(rows: list) -> dict:
    # Narrow enough that a phone draws it at full size (its 16 px labels stay 16 px): labels, then 220 for the bar.
    return {"width": 340, "row": 44, "height": 44 * max(1, len(rows)) + 10}


@permission_required("surveys.view_progress")
def progress(request, pk: int):
    """Workers: responses by building against the quota, with a bar chart and the same numbers in a table."""
    survey = _survey(request, pk, "surveys.view_progress", view_perm="surveys.view_progress")
    rows = selectors.by_building(survey) if survey.status != Survey.Status.DRAFT else []
    chart = []
    for i, r in enumerate(rows):
        n, d = r.report.response.numerator, r.report.response.denominator
        chart.append(
            {
                "row": r,
                "y": i * 44 + 5,
                "w": int(BAR * n / d) if d else 0,
                "quota_x": BAR_X + int(BAR * r.needed / d) if d and r.needed is not None else None,
            }
        )
    return render(
        request,
        "surveys/progress.html",
        {
            "survey": survey,
            "rows": rows,
            "bands": selectors.by_age_band(survey) if survey.status != Survey.Status.DRAFT else [],
            "chart": chart,
            "size": _bars(rows),
            "counts": selectors.progress(survey),
            "quotas": selectors.quotas(survey),
        },
    )


def rates_page(request, pk: int):
    """The three rates of a survey, whole and by building, with definitions, intervals and the target."""
    survey = gated_object(request, Survey.objects.select_related("scope"), perm="surveys.view_rates", pk=pk)
    if survey.status == Survey.Status.DRAFT:
        return redirect("surveys:detail", pk=pk)
    report = selectors.figures(survey)
    staff = allows(request.user, "surveys.view_survey", survey)
    buildings = selectors.by_building(survey) if staff else []
    results = selectors.question_results(survey, None if staff else survey.published_keys)
    return render(
        request,
        "surveys/rates.html",
        {
            "survey": survey,
            "report": report,
            "figures": _figure_rows(survey, report),
            "buildings": buildings,
            "results": results,
            "can_data": allows(request.user, "surveys.download_rates_data", survey),
        },
    )


@permission_required("surveys.download_rates_data")
def data_file(request, pk: int):
    """The figures' data file, readable by `python -m gongzhi.surveys.rates` (households as opaque tokens)."""
    survey = _survey(request, pk, "surveys.download_rates_data", view_perm="surveys.view_rates")
    body = json.dumps(selectors.data_file(survey), ensure_ascii=False, indent=1)
    audit.record("surveys.download_data", survey, actor=request.user)
    resp = HttpResponse(body, content_type="application/json; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}-rates.json"'
    return resp


@permission_required("surveys.export_responses")
def export_view(request, pk: int):
    survey = _survey(request, pk, "surveys.export_responses")
    nodes = list(
        AreaNode.objects.filter(path__startswith=survey.path, depth__lte=survey.scope.depth + 2).order_by("path")[:200]
    )
    form = ExportForm(request.GET or None)
    form.fields["node"].choices = [("", "—")] + [(n.pk, n.name) for n in nodes]
    if request.GET.get("download") and form.is_valid():
        d = form.cleaned_data
        node = next((n for n in nodes if n.pk == d.get("node")), None)
        data = export.workbook(survey, since=d.get("since"), until=d.get("until"), node=node)
        audit.record("surveys.export", survey, actor=request.user, changes={k: d.get(k) for k in ("since", "until")})
        resp = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        resp["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}.xlsx"'
        return resp
    return render(request, "surveys/export.html", {"survey": survey, "form": form})


@permission_required("surveys.review_response")
def responses(request, pk: int):
    """Staff-entered responses awaiting review (or all), paged by key."""
    survey = _survey(request, pk, "surveys.review_response")
    state = request.GET.get("review", "received")
    qs = Response.objects.filter(survey=survey).select_related("household__building", "entered_by").order_by("-id")
    if state in dict(Response.Review.choices):
        qs = qs.filter(review=state)
    before = _int(request.GET.get("before"))
    if before:
        qs = qs.filter(pk__lt=before)
    rows = list(qs[: PAGE + 1])
    return render(
        request,
        "surveys/responses.html",
        {
            "survey": survey,
            "rows": rows[:PAGE],
            "before": rows[PAGE - 1].pk if len(rows) > PAGE else None,
            "state": state,
            "states": Response.Review.choices,
        },
    )


@permission_required("surveys.review_response")
@require_http_methods(["GET", "POST"])
def response_detail(request, pk: int, rid: int):
    survey = _survey(request, pk, "surveys.review_response")
    response = get_object_or_404(
        Response.objects.select_related("household__building", "version", "scan", "entered_by", "on_behalf_of"),
        survey=survey,
        pk=rid,
    )
    check(request.user, "surveys.review_response", response)
    form = ReviewForm(_post(request))
    if request.method == "POST" and form.is_valid():
        try:
            actions.review_response(
                response,
                actor=request.user,
                decision=form.cleaned_data["decision"],
                comment=form.cleaned_data["comment"],
            )
        except SurveyError as e:
            form.add_error("comment" if e.field == "comment" else "decision", _error_text(e))
        else:
            messages.success(request, _("审核结果已保存。"))
            return redirect("surveys:responses", pk=pk)
    shown = []
    for q in response.version.flat:
        v = response.answers.get(q["key"])
        if v is None and q.get("repeat", {}).get("index"):
            continue  # a member the group did not ask about (or a question it skipped for them)
        shown.append({"q": q, "value": _display(q, v)})
    return render(
        request,
        "surveys/response_detail.html",
        {
            "survey": survey,
            "response": response,
            "answers": shown,
            "form": form,
            "acted_for": pii.mask_name(response.on_behalf_of.name) if response.on_behalf_of else "",
        },
    )


def _display(q: dict, v) -> str:
    if v is None:
        return "—"
    labels = {c["code"]: tr(c) for c in q.get("choices", [])}
    if q["type"] == "single":
        return labels.get(v, v)
    if q["type"] == "multiple":
        return "、".join(labels.get(c, c) for c in v)
    if q["type"] == "matrix":
        rows = {r["code"]: tr(r) for r in q["rows"]}
        return "；".join(f"{rows.get(r, r)}：{labels.get(c, c)}" for r, c in v.items())
    if q["type"] == "rating":
        return dict(rating_choices(q)).get(str(v), str(v))
    if isinstance(v, list):  # a calculated value may be a list of codes
        return "、".join(str(x) for x in v)
    return str(v)


@permission_required("surveys.change_ratesettings")
@require_http_methods(["GET", "POST"])
def settings_view(request):
    """The district's target and satisfied level, for surveys created from now on."""
    nodes = AreaNode.objects.filter(depth__lte=1).order_by("path")
    q = scope_q(request.user, frozenset({"district_admin", "subdistrict_staff", "community_worker"}), "path")
    if q is not None:
        nodes = nodes.filter(q)
    node = nodes.filter(pk=_int(request.GET.get("node"))).first() or nodes.first()
    if node is None:
        return render(request, "surveys/settings.html", {"form": None})
    check(request.user, "surveys.change_ratesettings", node)
    target, satisfied_from = actions.rate_settings_for(node)
    form = RateSettingsForm(_post(request), initial={"target_percent": target * 100, "satisfied_from": satisfied_from})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            actions.set_rate_settings(
                node, actor=request.user, target=d["target_percent"] / Decimal(100), satisfied_from=d["satisfied_from"]
            )
        except SurveyError as e:
            form.add_error(None, _error_text(e))
        else:
            messages.success(request, _("已保存；此后新建的问卷按新设置统计。"))
            return redirect("surveys:list")
    return render(request, "surveys/settings.html", {"form": form, "node": node})


def area_rates(request, node_id: int):
    """The three rates of every survey with households under this area node, restricted to that node."""
    node = get_object_or_404(AreaNode, pk=node_id)
    staff = allows(request.user, "surveys.view_survey", node)
    surveys = list(selectors.surveys_covering(node, published_only=not staff)[:20])
    rows = []
    for s in surveys:
        report = selectors.figures(s, node)
        if report.households:
            rows.append({"survey": s, "report": report, "figures": _figure_rows(s, report)})
    children = list(node.children.order_by("name")[:100])
    return render(request, "surveys/area.html", {"node": node, "rows": rows, "children": children})


# ---------------------------------------------------------------------------------------- workers
@permission_required("surveys.view_progress")
def enter_find(request, pk: int):
    """代录 step 1: find the household (by building and flat), not yet answered first."""
    survey = _survey(request, pk, "surveys.collect_response", view_perm="surveys.view_progress")
    q = (request.GET.get("q") or "").strip()[:30]
    rows = SurveyHousehold.objects.filter(survey=survey).select_related("building").order_by("taken", "path", "label")
    if q:
        rows = rows.filter(label__contains=q)
    after = _int(request.GET.get("page"))
    page = list(rows[after * PAGE : (after + 1) * PAGE + 1])
    caps = [c for c in selectors.quotas(survey) if c.kind != Quota.Kind.CHOICE and c.full]
    for h in page:
        h.full = next((c for c in caps if c.matches(h.building_id, h.age_band, {})), None)
    return render(
        request,
        "surveys/enter_find.html",
        {"survey": survey, "rows": page[:PAGE], "next": after + 1 if len(page) > PAGE else None, "q": q},
    )


@permission_required("surveys.view_progress")
def papers(request, pk: int):
    """纸质问卷登记: the paper questionnaires entered, by number, so a worker can see whether a paper is in."""
    survey = _survey(request, pk, "surveys.view_progress", view_perm="surveys.view_progress")
    q = (request.GET.get("q") or "").strip().upper()[:30]
    rows = (
        Response.objects.filter(survey=survey, channel=Response.Channel.PAPER)
        .select_related("household", "entered_by")
        .order_by("paper_number", "-id")
    )
    if q:
        rows = rows.filter(paper_number__contains=q)
    after = _int(request.GET.get("page"))
    page = list(rows[after * PAGE : (after + 1) * PAGE + 1])
    return render(
        request,
        "surveys/papers.html",
        {
            "survey": survey,
            "rows": page[:PAGE],
            "next": after + 1 if len(page) > PAGE else None,
            "q": q,
            "total": rows.exclude(review=Response.Review.REJECTED).count(),
            "can_review": allows(request.user, "surveys.review_response", survey),
            "can_collect": allows(request.user, "surveys.collect_response", survey),
        },
    )


def _entry_items(questions: list[dict], forms_: list) -> list[dict]:
    """The entry page's questions in order: a form to fill in, or a calculated value the page shows."""
    by_key = {f.question["key"]: f for f in forms_}
    return [{"question": q, "form": by_key.get(q["key"]), "label": tr(q)} for q in questions]


def _rule_data(q: dict) -> dict:
    """What the entry page's script needs to walk the questions as the server does (logic.walk)."""
    out = {"key": q["key"], "type": q["type"], "relevant": q["relevant"]}
    if q.get("calculation"):
        out["calculation"] = q["calculation"]
    if q.get("choice_filter"):
        out["choice_filter"] = q["choice_filter"]
        out["choices"] = [{k: c[k] for k in ("code", "tag") if k in c} for c in q["choices"]]
    return out


def _residents(household: SurveyHousehold) -> list[tuple[int, str]]:
    """Who a worker may act for: the household's residents and owners now; the resident themself; the
    organisation's current members and legal person (names masked)."""
    if household.person_id is not None:
        people = Person.objects.filter(pk=household.person_id)
    elif household.organization_id is not None:
        people = Person.objects.filter(
            Q(memberships__organization_id=household.organization_id, memberships__until__isnull=True)
            | Q(organizations__pk=household.organization_id)
        ).distinct()
    else:
        people = Person.objects.filter(
            Q(residences__unit_id=household.unit_id, residences__until__isnull=True)
            | Q(ownerships__unit_id=household.unit_id, ownerships__until__isnull=True)
        ).distinct()
    return [(p.pk, pii.mask_name(p.name)) for p in people.order_by("pk")[:20]]


@permission_required("surveys.view_progress")
@require_http_methods(["GET", "POST"])
def enter_form(request, pk: int, token: str):
    """代录 step 2: every question on one page (skip rules applied in the browser too), channel, caller, scan."""
    survey = _survey(request, pk, "surveys.collect_response", view_perm="surveys.view_progress")
    household = get_object_or_404(SurveyHousehold.objects.select_related("building"), survey=survey, token=token)
    all_questions = current_version(survey).flat
    qs = qdef.answerable(all_questions)
    data = _post(request)
    files = request.FILES if request.method == "POST" else None
    entry = EntryForm(data, files, residents=_residents(household), anonymous=survey.anonymous)
    forms_ = [AnswerForm(q, data, prefix=q["key"]) for q in qs]
    errors: list[tuple[str, str]] = []
    if request.method == "POST" and not household.taken:
        valid = entry.is_valid() & all([f.is_valid() for f in forms_])
        if valid:
            answers = {f.question["key"]: f.answer for f in forms_ if f.answer is not None}
            scan = entry.cleaned_data.get("scan")
            caller = entry.cleaned_data.get("caller")
            try:
                response = actions.submit_response(
                    survey,
                    household,
                    actor=request.user,
                    answers=answers,
                    channel=entry.cleaned_data["channel"],
                    on_behalf_of=Person.objects.filter(pk=caller).first() if caller else None,
                    scan=(scan.read(), scan.name) if scan else None,
                    idempotency_key=request.POST.get("token", "")[:64],
                    paper_number=entry.cleaned_data.get("paper_number") or "",
                )
            except SurveyError as e:
                target = next((f for f in forms_ if f.question["key"] == e.field), None)
                field = "caller" if e.field == "on_behalf_of" else e.field
                if target is not None:
                    target.add_error(target.first_field.name, _error_text(e))
                elif field in entry.fields:
                    entry.add_error(field, _error_text(e))
                else:
                    entry.add_error(None, _error_text(e))
            else:
                ref = response.reference if not survey.anonymous else ""
                messages.success(
                    request, _("已保存 %(label)s 的问卷。%(ref)s") % {"label": household.label, "ref": ref}
                )
                return redirect("surveys:enter", pk=pk)
    for f in [entry, *forms_]:
        for field in f:
            for err in field.errors:
                errors.append((field.auto_id, f"{field.label}：{err}"))
        for err in f.non_field_errors():
            errors.append(("", err))
    return render(
        request,
        "surveys/enter_form.html",
        {
            "survey": survey,
            "household": household,
            "entry": entry,
            "forms": forms_,
            "items": _entry_items(all_questions, forms_),
            "errors": errors,
            "token": uuid.uuid4().hex,
            "rules": [_rule_data(q) for q in all_questions],
        },
    )


# -------------------------------------------------------------------------------------- residents
@permission_required(None)
def mine(request):
    """你的问卷 — open surveys of the signed-in resident's households."""
    rows = []
    if request.user.person_id:
        mine_q = Q()
        for kind in Survey.Respondents.values:  # each kind of survey with the rows that kind gives this person
            mine_q |= Q(survey__respondents=kind) & selectors.own_frame_q(request.user.person_id, kind)
        frame = (
            SurveyHousehold.objects.filter(mine_q, survey__status="open")
            .select_related("survey")
            .order_by("-survey_id")[:50]
        )
        rows = list(frame)
    return render(request, "surveys/mine.html", {"rows": rows})


def _state(request, survey: Survey) -> dict:
    return request.session.setdefault(f"survey-{survey.pk}", {})


def _confirmed(state: dict) -> bool:
    at = parse_datetime(state.get("confirmed_at", "") or "")
    return bool(at) and timezone.now() - at < timedelta(minutes=IDENTITY_MINUTES)


def _resident_household(request, survey: Survey) -> tuple[SurveyHousehold | None, HttpResponse | None]:
    """The resident's household in the frame (the one chosen, or the only one), or the page saying why not."""
    own = list(selectors.own_households(survey, request.user.person_id or 0).order_by("label"))
    state = _state(request, survey)
    chosen = next((h for h in own if h.token == state.get("household")), None)
    if chosen is None and len(own) == 1:
        chosen = own[0]
    if not own:
        return None, render(
            request, "surveys/resident_message.html", {"survey": survey, "kind": "not_in_frame"}, status=403
        )
    if chosen is not None and chosen.taken:
        return None, render(request, "surveys/resident_message.html", {"survey": survey, "kind": "answered"})
    today = timezone.localdate()
    if not survey.is_open or not survey.opens_on <= today <= survey.closes_on:
        return None, render(request, "surveys/resident_message.html", {"survey": survey, "kind": "closed"})
    if chosen is None:
        return None, render(request, "surveys/resident_pick.html", {"survey": survey, "households": own})
    if selectors.full_for_household(survey, chosen) is not None:
        return None, render(request, "surveys/resident_message.html", {"survey": survey, "kind": "full"})
    return chosen, None


def _phone(request) -> str:
    person = getattr(request.user, "person", None)
    for raw in ((person.phone if person else ""), request.user.phone):
        try:
            return pii.normalize_mobile(raw)
        except pii.PiiError:
            continue
    return ""


@permission_required(None)
@require_http_methods(["GET", "POST"])
def answer_start(request, pk: int):
    survey = get_object_or_404(Survey, pk=pk)
    check(request.user, "surveys.view_own_survey", survey, view_perm="surveys.view_own_survey")
    if request.method == "POST" and request.POST.get("household"):
        state = _state(request, survey)
        state["household"] = request.POST["household"][:16]
        request.session.modified = True
        return redirect("surveys:answer", pk=pk)
    household, page = _resident_household(request, survey)
    if page:
        return page
    phone = _phone(request)
    state = _state(request, survey)
    if request.method == "POST":
        if not phone:
            messages.error(request, _("您的登记信息中没有手机号，请拨打热线或请社区工作人员上门代录。"))
            return redirect("surveys:answer", pk=pk)
        try:
            sms.issue_code(phone, "survey")
        except sms.CodeError as e:
            messages.info(request, str(e))
        return redirect("surveys:answer-code", pk=pk)
    if _confirmed(state):
        return redirect("surveys:answer-step", pk=pk, n=1)
    return render(
        request,
        "surveys/answer_start.html",
        {
            "survey": survey,
            "household": household,
            "phone": pii.mask_phone(phone),
            "steps": len(qdef.answerable(current_version(survey).flat)),
        },
    )


@permission_required(None)
@require_http_methods(["GET", "POST"])
def answer_code(request, pk: int):
    survey = get_object_or_404(Survey, pk=pk)
    check(request.user, "surveys.view_own_survey", survey, view_perm="surveys.view_own_survey")
    household, page = _resident_household(request, survey)
    if page:
        return page
    form = CodeForm(_post(request))
    if request.method == "POST" and form.is_valid():
        if sms.check_code(_phone(request), "survey", form.cleaned_data["code"]):
            state = _state(request, survey)
            state.update(confirmed_at=timezone.now().isoformat(), household=household.token)
            request.session.modified = True
            audit.record(
                "surveys.confirm_identity", survey, actor=request.user, on_behalf_of=request.user.person, channel="sms"
            )
            return redirect("surveys:answer-step", pk=pk, n=1)
        form.add_error("code", _("验证码不正确或已过期"))
    return render(
        request, "surveys/answer_code.html", {"survey": survey, "form": form, "phone": pii.mask_phone(_phone(request))}
    )


def _visible_steps(qs: list[dict], answers: dict) -> list[int]:
    """Positions (1-based) of the questions shown for the answers so far."""
    shown = {q["key"] for q in qdef.visible(qs, answers)}
    return [i + 1 for i, q in enumerate(qs) if q["key"] in shown]


@permission_required(None)
@require_http_methods(["GET", "POST"])
def answer_step(request, pk: int, n: int):
    """One question per page. The next page is the next question whose skip rule holds (decided here)."""
    survey = get_object_or_404(Survey, pk=pk)
    check(request.user, "surveys.view_own_survey", survey, view_perm="surveys.view_own_survey")
    household, page = _resident_household(request, survey)
    if page:
        return page
    state = _state(request, survey)
    if not _confirmed(state):
        return redirect("surveys:answer", pk=pk)
    qs = current_version(survey).flat
    answers = state.setdefault("answers", {})
    steps = _visible_steps(qs, answers)
    if n not in steps:
        later = [s for s in steps if s > n]
        return redirect("surveys:answer-step", pk=pk, n=later[0]) if later else redirect("surveys:answer-check", pk=pk)
    q = qs[n - 1]
    codes = qdef.options_for(qs, q["key"], answers)
    form = AnswerForm(q, _post(request), prefix="q", initial=initial_for(q, answers.get(q["key"])), codes=codes)
    if request.method == "POST" and form.is_valid():
        earlier = logic.walk(qs[: n - 1], answers)["seen"]  # earlier answers and calculated values
        full = selectors.full_choice(survey, q["key"], form.answer) if form.answer is not None else None
        if full is not None:
            form.add_error(
                form.first_field.name,
                _("%(what)s的名额已满，请另选") % {"what": full.label_en if _en() else full.label},
            )
        elif form.check_rules(earlier):
            if form.answer is None:
                answers.pop(q["key"], None)
            else:
                answers[q["key"]] = form.answer
            request.session.modified = True
            steps = _visible_steps(qs, answers)
            later = [s for s in steps if s > n]
            if later and not request.POST.get("to_check"):
                return redirect("surveys:answer-step", pk=pk, n=later[0])
            return redirect("surveys:answer-check", pk=pk)
    position = steps.index(n) + 1
    earlier_steps = [s for s in steps if s < n]
    return render(
        request,
        "surveys/answer_question.html",
        {
            "survey": survey,
            "question": q,
            "form": form,
            "step": position,
            "steps": len(steps),
            "prev_url": reverse("surveys:answer-step", args=[pk, earlier_steps[-1]]) if earlier_steps else "",
        },
    )


@permission_required(None)
@require_http_methods(["GET", "POST"])
def answer_check(request, pk: int):
    survey = get_object_or_404(Survey, pk=pk)
    state = _state(request, survey)
    if request.method == "POST" and state.get("done") and request.POST.get("token") == state.get("key"):
        return redirect("surveys:answer-done", pk=pk)  # a double submit after success
    check(request.user, "surveys.view_own_survey", survey, view_perm="surveys.view_own_survey")
    household, page = _resident_household(request, survey)
    if page:
        return page
    if not _confirmed(state):
        return redirect("surveys:answer", pk=pk)
    qs = current_version(survey).flat
    answers = state.get("answers", {})
    if not state.get("key"):
        state["key"] = uuid.uuid4().hex
        request.session.modified = True
    problem = None
    if request.method == "POST":
        try:
            response = actions.submit_response(
                survey,
                household,
                actor=request.user,
                answers=answers,
                channel=Response.Channel.ONLINE,
                identity_confirmed=True,
                idempotency_key=request.POST.get("token", "")[:64] or state["key"],
            )
        except SurveyError as e:
            problem = e
        else:
            state.update(done=response.reference if not survey.anonymous else "-", answers={})
            request.session.modified = True
            return redirect("surveys:answer-done", pk=pk)
    rows = []
    for n in _visible_steps(qs, answers):
        q = qs[n - 1]
        rows.append({"q": q, "label": tr(q), "value": _display(q, answers.get(q["key"])), "n": n})
    step_of = {}
    if problem is not None:
        step_of = {r["q"]["key"]: r["n"] for r in rows}
    return render(
        request,
        "surveys/answer_check.html",
        {
            "survey": survey,
            "rows": rows,
            "token": state["key"],
            "problem": _error_text(problem) if problem else "",
            "problem_step": step_of.get(problem.field) if problem else None,
        },
        status=400 if problem else 200,
    )


@permission_required(None)
def answer_done(request, pk: int):
    survey = get_object_or_404(Survey, pk=pk)
    state = _state(request, survey)
    if not state.get("done"):
        return redirect("surveys:answer", pk=pk)
    return render(request, "surveys/answer_done.html", {"survey": survey, "reference": state["done"]})


def figures_json(request, pk: int):
    """The figures as the command prints them (public once published, staff always)."""
    survey = gated_object(request, Survey.objects.all(), perm="surveys.view_rates", pk=pk)
    return JsonResponse(selectors.figures(survey).as_json(), json_dumps_params={"ensure_ascii": False})
